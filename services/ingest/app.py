"""The ingest HTTP service: `uvicorn --factory services.ingest.app:create_app`.

`POST /v1/mentions`, `GET /v1/mentions/{id}`, `POST /v1/complaints`, `GET /v1/complaints/{id}`,
the probes `GET /livez` and `GET /readyz` (`/healthz` is readiness under its older name) and
`GET /metrics`. A POST opens one unit of work, stores what is valid and stages
`mention.ingested.v1`; the answer is sent after commit, and the message is published right
after. Both POSTs honour `Idempotency-Key` (see `idempotency`). In the background the outbox
relay publishes what a crash left unsent, and the reconciler re-announces mentions never
analysed and forgets expired idempotency records.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from libs.contracts.messages import MentionIngested
from libs.database.engine import create_engine, session_factory
from libs.database.tables._types import utcnow
from libs.messaging import outbox
from libs.messaging.connection import open_pool
from libs.messaging.periodic import Periodic
from libs.metrics.definitions import INGEST_REQUESTS
from libs.metrics.http import RequestMetrics
from libs.quotas import Quotas
from libs.ratelimit import Budgets
from libs.settings import Settings
from libs.tracing.http import trace_requests
from services.ingest import health, service
from services.ingest.complaints import router as complaints
from services.ingest.complaints.service import ContactKey
from services.ingest.config import IngestSettings, get_settings
from services.ingest.dependencies import PRODUCER, RESOURCES, Resources
from services.ingest.mentions import router as mentions
from services.ingest.openapi import document_request_bodies, explorer_urls
from services.ingest.problems import install

RELAY_INTERVAL_SECONDS = 5.0

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the ingest application."""
    config = IngestSettings.extending(settings) if settings is not None else get_settings()
    app = FastAPI(
        title="crisiswatch ingest",
        version="1",
        summary="Push public mentions and complaints into crisiswatch.",
        lifespan=partial(_lifespan, config, ContactKey.from_settings(config)),
        **explorer_urls(config),
    )
    install(app)
    app.add_middleware(RequestMetrics, counter=INGEST_REQUESTS)
    app.include_router(mentions.router)
    app.include_router(complaints.router)
    app.include_router(health.router)
    document_request_bodies(app)
    # Last: the request's span (if traced, docs/tracing.md) encloses every middleware.
    trace_requests(app, "ingest", config)
    return app


@asynccontextmanager
async def _lifespan(
    settings: IngestSettings, contact_key: ContactKey, _: FastAPI
) -> AsyncIterator[dict[str, Resources]]:
    """Open the engine and Redis, run the relay and the reconciler, close all at shutdown."""
    engine = create_engine(
        settings.database_url, statement_timeout_seconds=settings.statement_timeout_ingest_seconds
    )
    redis = open_pool(settings.redis_url)
    held = Resources(
        sessions=session_factory(engine),
        redis=redis,
        budgets=Budgets.from_settings(settings),
        contact_key=contact_key,
        quotas=Quotas.from_settings(settings),
    )
    relay = outbox.Relay(held.sessions, redis, PRODUCER, interval=RELAY_INTERVAL_SECONDS)
    reconciler = Periodic(
        "ingest reconciler",
        partial(reconcile_once, held),
        interval=settings.reconcile_interval_seconds,
    )
    relay.start()
    reconciler.start()
    try:
        yield {RESOURCES: held}
    finally:
        await reconciler.stop()
        await relay.stop()
        await redis.aclose()
        await engine.dispose()


async def reconcile_once(held: Resources) -> None:
    """Run one reconciler pass in its own unit of work."""
    async with held.unit_of_work() as work:
        outcome = work.apply(await service.reconcile(work.session, utcnow()))
    count = sum(
        len(message.mention_ids)
        for message in outcome.messages
        if isinstance(message, MentionIngested)
    )
    if count:
        log.warning("re-announced %d mentions that were never analysed", count)
