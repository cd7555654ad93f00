"""What the OpenAPI document says beyond the route signatures, and where its explorers are.

Beyond the signatures: the hand-parsed request bodies, the bearer scheme every `/v1` route
asks for, readable operation ids (`pushMentions`, what a generated client calls), every
refusal as `application/problem+json` with its schema, including those any route may answer
(401, 413 where a body is read, 429 over a budget, 503 while PostgreSQL is away), and the
`RateLimit-*`, `Retry-After` and `WWW-Authenticate` headers that come with them (on a 403
too: RFC 6750 names the missing scope there). `/healthz` answers its readiness document as
`application/json` whether ready or not (503 when a dependency is down): it is the probe's
body, naming what is down, not a refusal of the caller.
"""

from typing import Any, TypedDict

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from libs.settings import Settings
from services.ingest.complaints.schemas import ComplaintIn
from services.ingest.idempotency.http import REPLAYED_HEADER
from services.ingest.mentions.schemas import MentionBatchIn
from services.ingest.problems import PROBLEM_JSON
from services.ingest.schemas import Problem, QuotaProblem

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key."},
    403: {"model": Problem, "description": "The key's role may not do this."},
    422: {"model": Problem, "description": "Malformed body; `errors` names each field."},
}
QUOTA_ERRORS: dict[int | str, dict[str, Any]] = {
    429: {
        "model": QuotaProblem,
        "description": "Too many requests, or more mentions than the organization's quota a "
        "minute or a day (`quota` names it); retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
}
REPLAYED = {
    REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key` and body.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
IDEMPOTENCY_ERRORS: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "description": "A request with the same `Idempotency-Key` is still being processed; "
        "retry after `Retry-After` seconds.",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
    },
    422: {
        "model": Problem,
        "description": "Malformed body or header, or an `Idempotency-Key` already used for "
        "a different body; `errors` names each field.",
    },
}

_COMPONENT_REF = "#/components/schemas/{model}"

SECURITY_SCHEME = "bearerAuth"
# What a generated client names each call; FastAPI's defaults (`push_mentions_v1_mentions_post`)
# read like an accident and change whenever a path does.
OPERATION_IDS = {
    ("post", "/v1/mentions"): "pushMentions",
    ("get", "/v1/mentions/{mention_id}"): "getMention",
    ("post", "/v1/complaints"): "pushComplaint",
    ("get", "/v1/complaints/{complaint_id}"): "getComplaint",
    ("get", "/healthz"): "getHealth",
}
_INTEGER = {"schema": {"type": "integer", "minimum": 0}}
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {"description": "Requests the closest budget allows a minute.", **_INTEGER},
    "RateLimit-Remaining": {"description": "Requests left in that budget.", **_INTEGER},
    "RateLimit-Reset": {"description": "Seconds until that budget has room again.", **_INTEGER},
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before sending again.", **_INTEGER}}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": 'RFC 6750: `Bearer realm="crisiswatch"`, with `error="invalid_token"` '
        "when the key sent is unknown or revoked.",
        "schema": {"type": "string"},
    }
}
INSUFFICIENT_SCOPE = {
    "WWW-Authenticate": {
        "description": 'RFC 6750: `Bearer realm="crisiswatch", error="insufficient_scope"`.',
        "schema": {"type": "string"},
    }
}
# What `libs.metrics.probes.readiness_body` answers, 200 or 503 alike.
READINESS = {
    "type": "object",
    "required": ["status", "checks"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "checks": {
            "type": "object",
            "description": "Each dependency (`postgres`, `redis`) and whether it answered.",
            "additionalProperties": {"type": "string", "enum": ["ok", "down"]},
        },
    },
}
HEALTH_PATH = "/healthz"
ANY_ROUTE: dict[str, dict[str, Any]] = {
    "429": {
        "description": "Over a request budget (key, organization or client address); "
        "`detail` names it.",
        "headers": {**RATE_LIMIT_HEADERS, **RETRY_AFTER},
    },
    "503": {
        "description": "The database is not answering, cancelled a statement (too slow), or "
        "the request's transaction lasted over a minute; nothing was kept, send the same "
        "request again after `Retry-After` seconds.",
        "headers": RETRY_AFTER,
    },
}
WITH_BODY: dict[str, dict[str, Any]] = {"413": {"description": "Body larger than 8 MiB."}}


def not_found(what: str) -> dict[int | str, dict[str, Any]]:
    """Return the documented answers of a read: the common errors and a 404 for `what`."""
    return {**ERRORS, 404: {"model": Problem, "description": f"No such {what}."}}


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """Return the `openapi_extra` documenting a required JSON body read by hand."""
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return `model`'s schema with its nested models referred to in the components."""
    schema = model.model_json_schema(ref_template=_COMPONENT_REF)
    schema.pop("$defs", None)
    return schema


def component_ref(model: type[BaseModel]) -> dict[str, Any]:
    """Return a reference to `model` in the components."""
    return {"$ref": _COMPONENT_REF.format(model=model.__name__)}


def document_request_bodies(app: FastAPI) -> None:
    """Complete the OpenAPI document with what FastAPI cannot see (`document_contract`).

    Bodies are parsed by hand (size limit first, per-field problems), so FastAPI does not
    see the models; a client generator still needs them under `components/schemas`.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "ComplaintIn" not in schemas:
            _, definitions = models_json_schema(
                [
                    (ComplaintIn, "validation"),
                    (MentionBatchIn, "validation"),
                    (Problem, "serialization"),
                ],
                ref_template=_COMPONENT_REF,
            )
            for name, schema in definitions.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            document_contract(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


def document_contract(document: dict[str, Any]) -> None:
    """Name each operation, ask `/v1` for the bearer key, and document every answer a route
    may give: its problems as `application/problem+json`, its headers."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key of the organization: `Authorization: Bearer cw_…`. "
        "Pushing takes an `ingest` key or above; reading a `viewer` key or above.",
    }
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if (method, path) in OPERATION_IDS:
                operation["operationId"] = OPERATION_IDS[method, path]
            if path.startswith("/v1/"):
                _document_v1(operation)
            elif path == HEALTH_PATH:
                _document_health(operation)


def _document_v1(operation: dict[str, Any]) -> None:
    """The bearer scheme, the answers any `/v1` route may give, and their media types."""
    operation["security"] = [{SECURITY_SCHEME: []}]
    responses: dict[str, dict[str, Any]] = operation.setdefault("responses", {})
    extra = {**ANY_ROUTE, **(WITH_BODY if "requestBody" in operation else {})}
    for status, answer in extra.items():
        known = responses.setdefault(status, {})
        described = known.get("description")
        if described and described != answer["description"]:
            known["description"] = f"{described} Or: {answer['description']}"
        else:
            known["description"] = answer["description"]
        known.setdefault("headers", {}).update(answer.get("headers", {}))
    responses.setdefault("401", {}).setdefault("headers", {}).update(WWW_AUTHENTICATE)
    if "403" in responses:
        responses["403"].setdefault("headers", {}).update(INSUFFICIENT_SCOPE)
    for status, answer in responses.items():
        if status.startswith(("4", "5")):
            answer["content"] = {PROBLEM_JSON: {"schema": component_ref(Problem)}}
        elif status.startswith("2"):
            answer.setdefault("headers", {}).update(RATE_LIMIT_HEADERS)


def _document_health(operation: dict[str, Any]) -> None:
    """The readiness document on both answers: a 503 is the same JSON, naming what is down."""
    for answer in operation.get("responses", {}).values():
        answer["content"] = {"application/json": {"schema": READINESS}}


class Explorers(TypedDict):
    """FastAPI's arguments naming where its explorers are served (None: not at all)."""

    docs_url: str | None
    redoc_url: str | None


def explorer_urls(settings: Settings) -> Explorers:
    """Return where the interactive explorers are served: only in development.

    `/docs` and `/redoc` let anyone who reaches the service try every route from a browser;
    that is a developer's tool. The OpenAPI document itself stays at `/openapi.json` in
    every environment: it is the published contract integrators generate clients from, with
    nothing in it that the public documentation does not say.
    """
    development = settings.is_development
    return Explorers(
        docs_url="/docs" if development else None,
        redoc_url="/redoc" if development else None,
    )
