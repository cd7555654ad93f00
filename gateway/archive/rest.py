"""The archive over REST: the signed dossier as JSON and HTML, the review report's page,
and the public key that checks the signatures.

Files answer with their media type and `Content-Disposition: attachment` with a stable
name (`incident-<short id>-archive-<date>.json`); refusals are RFC 9457 problem documents.
Another organization's incident is answered as missing (404), never as forbidden, so an id
tells nothing about whether it exists.

The OpenAPI document says what each answer carries, and only that: the key-protected routes
are admitted by the same gate as GraphQL, so a file comes with the `RateLimit-*` fields of
the budget closest to running out and a 429 with them and `Retry-After`; a 401 with
`WWW-Authenticate`. The 503 (no signing key configured) has no `Retry-After`: it lasts until
an operator sets the key, so no wait would be honest. The signing key asks for no API key and
is counted against no budget, hence no `RateLimit-*` there.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.archive.document import HTML_TYPE, JSON_TYPE, review_file_stem
from gateway.archive.service import Reader, Refused, take_archive, take_review
from gateway.archive.signed import NoSigningKeyError, signer_for
from gateway.auth import AuthError
from gateway.config import GatewaySettings
from libs.documents.review import to_html
from libs.documents.signing import ALGORITHM

PROBLEM_JSON = "application/problem+json"
SECURITY_SCHEME = "bearerAuth"
PREFIX = "/v1/incidents/{incident_id}"
SIGNING_KEY_PATH = "/v1/archive/signing-key"
UNSIGNABLE = "No signing key is configured (ARCHIVE_SIGNING_KEY)."


class FieldError(BaseModel):
    """A rejected field with the reason."""

    field: str
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] = Field(default_factory=list)


class SigningKey(BaseModel):
    """The public key that checks archive signatures."""

    algorithm: str = Field(description="Always `Ed25519`.")
    key_id: str = Field(description="The id archives name in `signature.key_id`.")
    public_key: str = Field(description="Base64 of the 32 raw bytes of the public key.")


_INTEGER = {"schema": {"type": "integer", "minimum": 0}}
# The fields `Verdict.headers` sends (absent only when every budget is switched off).
RATE_LIMIT_HEADERS: dict[str, dict[str, Any]] = {
    "RateLimit-Limit": {"description": "Requests the closest budget allows a minute.", **_INTEGER},
    "RateLimit-Remaining": {"description": "Requests left in that budget.", **_INTEGER},
    "RateLimit-Reset": {"description": "Seconds until that budget has room again.", **_INTEGER},
}
RETRY_AFTER: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "Seconds to wait before sending again.", **_INTEGER}
}
WWW_AUTHENTICATE: dict[str, dict[str, Any]] = {
    "WWW-Authenticate": {
        "description": 'RFC 6750: `Bearer realm="crisiswatch"`.',
        "schema": {"type": "string"},
    }
}
_PROBLEM_CONTENT = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def _problem(
    answer: dict[int | str, dict[str, Any]],
    status: int,
    text: str,
    headers: dict[str, dict[str, Any]] | None = None,
) -> None:
    answer[status] = {"description": text, "content": _PROBLEM_CONTENT}
    if headers:
        answer[status]["headers"] = headers


def _answers(media: str, file_text: str, *, archive: bool) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a file route: the file, then every refusal it may send."""
    answers: dict[int | str, dict[str, Any]] = {
        200: {
            "description": f"{file_text}, as an attachment with a stable file name.",
            "content": {media: {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": 'attachment; filename="incident-<short id>-…-<date>.<ext>"',
                    "schema": {"type": "string"},
                },
                **RATE_LIMIT_HEADERS,
            },
        }
    }
    _problem(answers, 401, "Missing or unknown API key.", WWW_AUTHENTICATE)
    _problem(
        answers,
        403,
        "Only an admin key, or one acting for the incident's commander, may take the archive."
        if archive
        else "An ingest key may not read.",
    )
    _problem(
        answers,
        404,
        "No such incident in your organization" + ("." if archive else ", or no review yet."),
    )
    _problem(answers, 422, "The incident id is not a UUID.")
    _problem(
        answers,
        429,
        "Over a request budget (key, organization or client address); `detail` names it. "
        "Retry after `Retry-After` seconds.",
        {**RATE_LIMIT_HEADERS, **RETRY_AFTER},
    )
    if archive:
        # Only signing can be unavailable; the review report is not signed.
        _problem(answers, 503, UNSIGNABLE)
    return answers


def problem(
    status: int,
    title: str,
    detail: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """Return a problem document answer."""
    body = Problem(title=title, status=status, detail=detail, errors=errors or [])
    return JSONResponse(
        body.model_dump(), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def _refusal(refused: Refused) -> JSONResponse:
    if refused is Refused.FORBIDDEN:
        return problem(403, "Forbidden", "This key may not take this file.")
    if refused is Refused.UNSIGNABLE:
        return problem(503, "Unavailable", "ARCHIVE_SIGNING_KEY is not set.")
    return problem(404, "Not Found", "No such incident in your organization.")


def _attachment(body: str, media: str, name: str, headers: dict[str, str]) -> Response:
    return Response(
        body,
        media_type=media,
        headers={**headers, "Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _reader(
    request: Request, settings: GatewaySettings
) -> tuple[Reader, dict[str, str]] | JSONResponse:
    """Admit the request's bearer key like GraphQL does, or answer its refusal."""
    resources = request.app.state.resources
    address = request.client.host if request.client else None
    try:
        admitted = await resources.gate.admit(request.headers.get("authorization"), address)
    except AuthError as refused:
        headers = dict(refused.headers)
        if refused.status_code == 401:
            headers["WWW-Authenticate"] = 'Bearer realm="crisiswatch"'
        if refused.retry_after is not None:
            headers["Retry-After"] = str(refused.retry_after)
        title = {401: "Unauthorized", 403: "Forbidden"}.get(
            refused.status_code, "Too Many Requests"
        )
        # The gate words its 403 for GraphQL; here it is about reading files.
        detail = "This key may not read." if refused.status_code == 403 else refused.message
        return problem(refused.status_code, title, detail, headers=headers)
    reader = Reader(admitted.principal, resources.sessions, settings)
    return reader, admitted.verdict.headers()


def _incident_id(text: str) -> uuid.UUID | JSONResponse:
    try:
        return uuid.UUID(text)
    except ValueError:
        wrong = [FieldError(field="incident_id", reason="not a UUID")]
        return problem(422, "Unprocessable Content", "The incident id is not a UUID.", wrong)


def archive_router(settings: GatewaySettings) -> APIRouter:
    """Return the archive's routes for `settings`."""
    router = APIRouter(tags=["archive"])

    async def archive(request: Request, incident_id: str, as_html: bool) -> Response:
        admitted = await _reader(request, settings)
        if isinstance(admitted, JSONResponse):
            return admitted
        reader, headers = admitted
        parsed = _incident_id(incident_id)
        if isinstance(parsed, JSONResponse):
            return parsed
        taken = await take_archive(reader, parsed, datetime.now(UTC))
        if isinstance(taken, Refused):
            return _refusal(taken)
        if as_html:
            return _attachment(taken.html(), HTML_TYPE, f"{taken.file_stem}.html", headers)
        return _attachment(taken.json, JSON_TYPE, f"{taken.file_stem}.json", headers)

    @router.get(
        f"{PREFIX}/archive.json",
        operation_id="getIncidentArchiveJson",
        response_class=Response,
        responses=_answers(JSON_TYPE, "The signed dossier (备案存档) as JSON", archive=True),
    )
    async def archive_json(request: Request, incident_id: str) -> Response:
        """Download an incident's signed dossier as JSON."""
        return await archive(request, incident_id, as_html=False)

    @router.get(
        f"{PREFIX}/archive.html",
        operation_id="getIncidentArchiveHtml",
        response_class=Response,
        responses=_answers(HTML_TYPE, "The signed dossier as one standalone page", archive=True),
    )
    async def archive_html(request: Request, incident_id: str) -> Response:
        """Download an incident's signed dossier as a standalone HTML page."""
        return await archive(request, incident_id, as_html=True)

    @router.get(
        f"{PREFIX}/review-report.html",
        operation_id="getReviewReportHtml",
        response_class=Response,
        responses=_answers(HTML_TYPE, "The review report (复盘) with its charts", archive=False),
    )
    async def review_report_html(request: Request, incident_id: str) -> Response:
        """Download an incident's review report as a standalone HTML page with its charts."""
        admitted = await _reader(request, settings)
        if isinstance(admitted, JSONResponse):
            return admitted
        reader, headers = admitted
        parsed = _incident_id(incident_id)
        if isinstance(parsed, JSONResponse):
            return parsed
        review = await take_review(reader, parsed)
        if isinstance(review, Refused):
            return _refusal(review)
        return _attachment(to_html(review), HTML_TYPE, f"{review_file_stem(review)}.html", headers)

    @router.get(
        SIGNING_KEY_PATH,
        operation_id="getArchiveSigningKey",
        response_model=SigningKey,
        responses={503: {"description": UNSIGNABLE, "content": _PROBLEM_CONTENT}},
    )
    async def signing_key() -> SigningKey | JSONResponse:
        """Return the public key that checks archive signatures; no API key needed."""
        try:
            signer = signer_for(settings)
        except NoSigningKeyError:
            return _refusal(Refused.UNSIGNABLE)
        return SigningKey(algorithm=ALGORITHM, key_id=signer.key_id, public_key=signer.public_key)

    return router


def document_archive(app: FastAPI) -> None:
    """Add the bearer scheme and the problem schema to the OpenAPI document, and ask the
    archive's key-protected routes for the key (their answers and headers are declared on
    the routes, `_answers`)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        document = generate()
        components = document.setdefault("components", {})
        components.setdefault("securitySchemes", {})[SECURITY_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key of the organization: `Authorization: Bearer cw_…`.",
        }
        schemas = components.setdefault("schemas", {})
        schemas.setdefault("FieldError", FieldError.model_json_schema())
        problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        problem_schema.pop("$defs", None)
        schemas.setdefault("Problem", problem_schema)
        for path, item in document.get("paths", {}).items():
            if path.startswith(PREFIX):
                for operation in item.values():
                    operation["security"] = [{SECURITY_SCHEME: []}]
        app.openapi_schema = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
