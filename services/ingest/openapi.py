"""What the OpenAPI document says beyond the route signatures (errors, headers, bodies), and
where its interactive explorers are served."""

from typing import Any, TypedDict

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from libs.settings import Settings
from services.ingest.complaints.schemas import ComplaintIn
from services.ingest.idempotency.http import REPLAYED_HEADER
from services.ingest.mentions.schemas import MentionBatchIn
from services.ingest.schemas import Problem, QuotaProblem

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key."},
    403: {"model": Problem, "description": "The key's role may not do this."},
    413: {"model": Problem, "description": "Body larger than 8 MiB."},
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
    """Put the hand-parsed request models into the OpenAPI components they are referred by.

    Bodies are parsed by hand (size limit first, per-field problems), so FastAPI does not
    see the models; a client generator still needs them under `components/schemas`.
    """
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        if "ComplaintIn" not in schemas:
            _, definitions = models_json_schema(
                [(ComplaintIn, "validation"), (MentionBatchIn, "validation")],
                ref_template=_COMPONENT_REF,
            )
            for name, schema in definitions.get("$defs", {}).items():
                schemas.setdefault(name, schema)
        return document

    app.openapi = openapi  # type: ignore[method-assign]


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
