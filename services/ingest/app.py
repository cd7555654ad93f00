"""The ingest HTTP service: mentions, complaints and `GET /healthz`.

`POST /v1/mentions`, `GET /v1/mentions/{id}`, `POST /v1/complaints`, `GET /v1/complaints/{id}`.
A request opens one transaction, stores what is valid and stages `mention.ingested.v1` in
the outbox; the answer is sent after commit, and the message is published right after. Both
POSTs honour `Idempotency-Key` (see `idempotency.py`).
"""

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from sqlalchemy import text

from libs.contracts.enums import Source
from libs.contracts.messages import MentionIngested
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.tables._types import utcnow
from libs.messaging import outbox
from libs.messaging.connection import connect
from libs.messaging.periodic import Periodic
from libs.privacy import DataKey, DataKeyError, install_masking
from libs.settings import Settings, get_settings
from services.ingest import complaints, idempotency, service
from services.ingest.auth import CurrentPrincipal, IngestingPrincipal
from services.ingest.complaints import ComplaintIn, ComplaintOut
from services.ingest.idempotency import IdempotencyKey
from services.ingest.problems import ProblemError, install
from services.ingest.reconcile import requeue_unanalysed
from services.ingest.schemas import (
    AnalysisOut,
    AuthorOut,
    BatchResult,
    Envelope,
    ItemResult,
    MentionBatchIn,
    MentionIn,
    MentionOut,
    MetricsIn,
    Problem,
)
from services.ingest.validation import errors_of, validate_item

PRODUCER = "ingest"
RELAY_INTERVAL_SECONDS = 5.0

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 8 * 1024 * 1024
MENTIONS_ROUTE = "POST /v1/mentions"
COMPLAINTS_ROUTE = "POST /v1/complaints"

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key."},
    403: {"model": Problem, "description": "The key's role may not do this."},
    413: {"model": Problem, "description": "Body larger than 8 MiB."},
    422: {"model": Problem, "description": "Malformed body; `errors` names each field."},
}
_REPLAYED = {
    idempotency.REPLAYED_HEADER: {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key` and body.",
        "schema": {"type": "string", "enum": ["true"]},
    }
}
_IDEMPOTENCY_ERRORS: dict[int | str, dict[str, Any]] = {
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


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ingest application."""
    settings = settings or get_settings()
    _mask_logs()
    data_key, key_problem = _data_key(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.sessions = session_factory(engine)
        app.state.redis = await connect(settings.redis_url)
        app.state.rate_limit = settings.rate_limit_per_minute
        sessions, redis = app.state.sessions, app.state.redis
        relay = outbox.Relay(sessions, redis, PRODUCER, interval=RELAY_INTERVAL_SECONDS)

        async def reconcile() -> None:
            count = await requeue_unanalysed(sessions, redis)
            if count:
                log.warning("re-announced %d mentions that were never analysed", count)
            await idempotency.purge_expired(sessions, utcnow())

        reconciler = Periodic(
            "ingest reconciler", reconcile, interval=settings.reconcile_interval_seconds
        )
        relay.start()
        reconciler.start()
        try:
            yield
        finally:
            await reconciler.stop()
            await relay.stop()
            await app.state.redis.aclose()
            await engine.dispose()

    app = FastAPI(
        title="crisiswatch ingest",
        version="1",
        summary="Push public mentions and complaints into crisiswatch.",
        lifespan=lifespan,
    )
    install(app)

    @app.post(
        "/v1/mentions",
        status_code=202,
        response_model=BatchResult,
        responses={**_ERRORS, **_IDEMPOTENCY_ERRORS, 202: {"headers": _REPLAYED}},
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _inline_schema(MentionBatchIn)}},
            }
        },
    )
    async def push_mentions(
        request: Request, principal: IngestingPrincipal, idempotency_key: IdempotencyKey
    ) -> Response:
        """Store a batch of 1–1000 mentions; each item is accepted, a duplicate, or rejected."""
        body = await _read_body(request)

        async def run() -> tuple[int, BatchResult]:
            return 202, await _store_mentions(request, principal.organization_id, body)

        return await idempotency.respond(
            request.app.state.sessions,
            principal.organization_id,
            idempotency_key,
            MENTIONS_ROUTE,
            body,
            run,
        )

    @app.get(
        "/v1/mentions/{mention_id}",
        response_model=MentionOut,
        responses={**_ERRORS, 404: {"model": Problem, "description": "No such mention."}},
    )
    async def read_mention(
        mention_id: uuid.UUID, request: Request, principal: CurrentPrincipal
    ) -> MentionOut:
        """Return a mention of the caller's organization and its analysis once done."""
        async with request.app.state.sessions() as session:
            found = await service.get_mention(session, principal.organization_id, mention_id)
        if found is None:
            raise ProblemError(404, "Not found", f"mention {mention_id} does not exist")
        mention, author, analysis = found
        return MentionOut(
            id=mention.id,
            source=Source(mention.source),
            external_id=mention.external_id,
            text=mention.text,
            text_normalized=mention.text_normalized,
            url=mention.url,
            posted_at=mention.posted_at,
            ingested_at=mention.ingested_at,
            repost_of=mention.repost_of,
            author=AuthorOut.model_validate(author, from_attributes=True) if author else None,
            metrics=MetricsIn(
                reposts=mention.reposts,
                comments=mention.comments,
                likes=mention.likes,
                views=mention.views,
            ),
            analysis=AnalysisOut.model_validate(analysis, from_attributes=True)
            if analysis
            else None,
        )

    @app.post(
        "/v1/complaints",
        status_code=201,
        response_model=ComplaintOut,
        responses={
            **_ERRORS,
            **_IDEMPOTENCY_ERRORS,
            201: {"description": "The complaint was stored.", "headers": _REPLAYED},
            200: {
                "model": ComplaintOut,
                "description": "A complaint with this `external_id` already exists; it is "
                "answered unchanged.",
                "headers": _REPLAYED,
            },
            503: {
                "model": Problem,
                "description": "Contacts were sent but the service has no data key to "
                "encrypt them (field `contacts`).",
            },
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ComplaintIn"}}
                },
            }
        },
    )
    async def create_complaint(
        request: Request, principal: IngestingPrincipal, idempotency_key: IdempotencyKey
    ) -> Response:
        """Store a customer complaint as a mention to analyse, with its contacts encrypted.

        The text is stored with phone numbers, e-mail addresses and ID numbers masked;
        contacts are stored only encrypted and answered only masked.
        """
        body = await _read_body(request)
        organization_id = principal.organization_id

        async def run() -> tuple[int, ComplaintOut]:
            complaint = complaints.parse(_decode_json(body))
            complaints.require_key(complaint, data_key, key_problem)
            staged = []
            async with transaction(request.app.state.sessions) as session:
                stored = await complaints.store(
                    session, organization_id, complaint, data_key, utcnow()
                )
                if stored.mention_created:
                    message = MentionIngested(
                        organization_id=organization_id,
                        mention_ids=[stored.complaint.mention_id],
                    )
                    staged.append(outbox.add(session, PRODUCER, message))
            await outbox.flush(request.app.state.sessions, request.app.state.redis, staged)
            log.info(
                "complaint %s from customer %s via %s %s",
                stored.complaint.id,
                stored.complaint.customer_ref,
                complaint.channel.value,
                "stored" if stored.created else "already existed",
            )
            return (201 if stored.created else 200), stored.complaint

        return await idempotency.respond(
            request.app.state.sessions,
            organization_id,
            idempotency_key,
            COMPLAINTS_ROUTE,
            body,
            run,
        )

    @app.get(
        "/v1/complaints/{complaint_id}",
        response_model=ComplaintOut,
        responses={**_ERRORS, 404: {"model": Problem, "description": "No such complaint."}},
    )
    async def read_complaint(
        complaint_id: uuid.UUID, request: Request, principal: CurrentPrincipal
    ) -> ComplaintOut:
        """Return a complaint of the caller's organization, personal data masked."""
        async with request.app.state.sessions() as session:
            found = await complaints.get(session, principal.organization_id, complaint_id)
        if found is None:
            raise ProblemError(404, "Not found", f"complaint {complaint_id} does not exist")
        return found

    _document_request_bodies(app)

    @app.get("/healthz", responses={503: {"description": "A dependency does not answer."}})
    async def health(request: Request) -> Response:
        """Report whether PostgreSQL and Redis answer."""
        checks = {"postgres": False, "redis": False}
        try:
            async with request.app.state.sessions() as session:
                await session.exec(text("SELECT 1"))
            checks["postgres"] = True
            checks["redis"] = bool(await request.app.state.redis.ping())
        except Exception:  # health reports failure instead of raising
            pass
        status = 200 if all(checks.values()) else 503
        return JSONResponse({"status": "ok" if status == 200 else "degraded", **checks}, status)

    return app


async def _store_mentions(request: Request, organization_id: uuid.UUID, body: bytes) -> BatchResult:
    """Validate items one by one, store the valid ones and announce the new ones."""
    envelope = _parse_envelope(body)
    parsed: dict[int, MentionIn] = {}
    results: dict[int, ItemResult] = {}
    for index, raw in enumerate(envelope.mentions):
        checked = validate_item(index, raw)
        if isinstance(checked, list):
            results[index] = ItemResult(index=index, status="rejected", errors=checked)
        else:
            parsed[index] = checked
    staged = []
    async with transaction(request.app.state.sessions) as session:
        stored = await service.store_batch(session, organization_id, parsed)
        if stored.new:
            message = MentionIngested(organization_id=organization_id, mention_ids=stored.new_ids)
            staged.append(outbox.add(session, PRODUCER, message))
    await outbox.flush(request.app.state.sessions, request.app.state.redis, staged)
    for index, mention_id in stored.ids.items():
        status = "accepted" if index in stored.new else "duplicate"
        results[index] = ItemResult(index=index, status=status, id=mention_id)
    ordered = [results[index] for index in range(len(envelope.mentions))]
    return BatchResult(
        accepted=len(stored.new),
        duplicates=len(stored.ids) - len(stored.new),
        rejected=len(ordered) - len(stored.ids),
        results=ordered,
    )


def _mask_logs() -> None:
    """Mask phone numbers, e-mails and ID numbers on every handler that may print a record."""
    for name in (None, "uvicorn", "uvicorn.access"):
        install_masking(logging.getLogger(name))


def _data_key(settings: Settings) -> tuple[DataKey | None, str]:
    """Return the key that encrypts contacts, or None and why (for the 503 problem)."""
    if not settings.data_key or not settings.data_key.strip():
        log.warning("no data key configured: complaints with contact details are refused")
        return None, "the service has no data key configured"
    try:
        return DataKey.from_settings(settings), ""
    except DataKeyError as error:
        log.error("the data key is unusable, complaints with contacts are refused: %s", error)
        return None, "the service's data key is misconfigured"


_COMPONENT_REF = "#/components/schemas/{model}"


def _inline_schema(model: type[BaseModel]) -> dict[str, Any]:
    """Return `model`'s schema with its nested models referred to in the components."""
    schema = model.model_json_schema(ref_template=_COMPONENT_REF)
    schema.pop("$defs", None)
    return schema


def _document_request_bodies(app: FastAPI) -> None:
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


async def _read_body(request: Request) -> bytes:
    """Read the body, refusing one over the size limit before reading it when possible."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ProblemError(413, "Payload too large", f"the body is over {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ProblemError(413, "Payload too large", f"the body is over {MAX_BODY_BYTES} bytes")
    return body


def _decode_json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(422, "Invalid request", f"body: not valid JSON ({exc})") from exc


def _parse_envelope(body: bytes) -> Envelope:
    """Check the outer body; item errors are handled one by one later."""
    data = _decode_json(body)
    if not isinstance(data, dict):
        raise ProblemError(422, "Invalid request", "body: expected an object with `mentions`")
    try:
        return Envelope.model_validate(data)
    except ValidationError as exc:
        errors = errors_of(exc, "")
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        raise ProblemError(422, "Invalid request", detail, errors) from exc


def main() -> None:
    """Serve ingest with uvicorn on the configured port."""
    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_masking()
    settings = get_settings()
    uvicorn.run(
        "services.ingest.app:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.ingest_port,
        log_level="info",
    )
