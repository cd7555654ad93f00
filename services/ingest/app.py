"""The ingest HTTP service: `POST /v1/mentions`, `GET /v1/mentions/{id}`, `GET /healthz`.

A request opens one transaction, stores the valid items and stages `mention.ingested.v1` in
the outbox; the answer is sent after commit, and the message is published right after.
"""

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy import text

from libs.contracts.enums import Source
from libs.contracts.messages import MentionIngested
from libs.database.engine import create_engine, session_factory, transaction
from libs.messaging import outbox
from libs.messaging.connection import connect
from libs.messaging.periodic import Periodic
from libs.settings import Settings, get_settings
from services.ingest import service
from services.ingest.auth import CurrentPrincipal, IngestingPrincipal
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

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key."},
    403: {"model": Problem, "description": "The key's role may not do this."},
    413: {"model": Problem, "description": "Body larger than 8 MiB."},
    422: {"model": Problem, "description": "Malformed body; `errors` names each field."},
}


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ingest application."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        app.state.sessions = session_factory(engine)
        app.state.redis = await connect(settings.redis_url)
        sessions, redis = app.state.sessions, app.state.redis
        relay = outbox.Relay(sessions, redis, PRODUCER, interval=RELAY_INTERVAL_SECONDS)

        async def reconcile() -> None:
            count = await requeue_unanalysed(sessions, redis)
            if count:
                log.warning("re-announced %d mentions that were never analysed", count)

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
        responses=_ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": MentionBatchIn.model_json_schema()}},
            }
        },
    )
    async def push_mentions(request: Request, principal: IngestingPrincipal) -> BatchResult:
        """Store a batch of 1–1000 mentions; each item is accepted, a duplicate, or rejected."""
        envelope = await _read_envelope(request)
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
            stored = await service.store_batch(session, principal.organization_id, parsed)
            if stored.new:
                message = MentionIngested(
                    organization_id=principal.organization_id, mention_ids=stored.new_ids
                )
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


async def _read_envelope(request: Request) -> Envelope:
    """Read and check the outer body; item errors are handled one by one later."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise ProblemError(413, "Payload too large", f"the body is over {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ProblemError(413, "Payload too large", f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProblemError(422, "Invalid request", f"body: not valid JSON ({exc})") from exc
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

    settings = get_settings()
    uvicorn.run(
        "services.ingest.app:create_app",
        factory=True,
        host=settings.bind_host,
        port=settings.ingest_port,
        log_level="info",
    )
