"""The gateway's HTTP entry point: `uvicorn --factory gateway.app:create_app`.

Routes: POST /graphql runs operations for a bearer key (GET too, for persisted queries; see
`gateway.graphql_http`), a WebSocket on /graphql speaks graphql-transport-ws for
subscriptions (the key travels in `connection_init`; see docs/subscriptions.md), GET /livez
answers while the process does, the incident archive's files under /v1 (`gateway.archive.rest`,
docs/archive.md), GET /readyz (and /healthz, its older name) whether
PostgreSQL and Redis answer, GET /metrics serves Prometheus metrics, and /console/ the
reference console's static page (`gateway.console`). Only in development
(`CRISISWATCH_ENV=development`) does a bare GET /graphql serve GraphiQL for a person in a
browser (it sends the key from its headers pane), with `/docs` and `/openapi.json` (the REST
routes: the archive's files and /healthz; GraphQL is described by its own schema). Request
bodies are held to `body_limit.MAX_BODY_BYTES` while they arrive; pages on the origins
CORS_ALLOWED_ORIGINS lists may call over HTTP and WebSocket (`gateway.origins`).
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.requests import HTTPConnection
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from gateway.admission import Gate
from gateway.archive.rest import archive_router, document_archive
from gateway.auth import AuthError, PrincipalCache
from gateway.body_limit import BodyLimit
from gateway.config import GatewaySettings, get_settings
from gateway.console.mount import add_console
from gateway.core.context import GatewayContext
from gateway.core.websocket_admission import sign_in
from gateway.graphiql import add_graphiql
from gateway.graphql_http import GraphQLHTTPRouter, graphql_media_type
from gateway.health import HEALTH_ANSWERS, live, ready
from gateway.live_hub import LiveHub
from gateway.open_sockets import OpenSockets
from gateway.origins import AllowedOrigins, add_cors
from gateway.persisted.resolve import PersistedDocuments
from gateway.persisted.socket import PersistedTransportWS
from gateway.revocation import RevocationListener
from gateway.schema import build_schema
from libs.database.engine import create_engine, session_factory
from libs.logs import bind
from libs.messaging.connection import ArqRedis, open_pool
from libs.metrics.exposition import metrics_response
from libs.ratelimit import Budgets, Limiter
from libs.settings import Settings
from libs.tracing.http import trace_requests

# A socket that has not sent `connection_init` by then is closed (4408), so unauthenticated
# sockets cannot pile up; a console opens a handful of subscriptions, not hundreds.
CONNECTION_INIT_TIMEOUT = timedelta(seconds=10)
MAX_SUBSCRIPTIONS_PER_CONNECTION = 25


@dataclass
class Resources:
    """What the lifespan opens once per process and closes at shutdown."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    gate: Gate
    hub: LiveHub


class GatewayRouter(GraphQLHTTPRouter):
    """The GraphQL routes, with WebSocket connections signed in by their `connection_init`."""

    graphql_transport_ws_handler_class = PersistedTransportWS

    async def on_ws_connect(self, context: GatewayContext) -> UnsetType | dict[str, object] | None:
        """Accept the connection for a known key within its budgets, else close it with
        4403 (Forbidden) or 4429 (over a budget; see `gateway.core.websocket_admission`)."""
        await sign_in(context)
        return cast(UnsetType, UNSET)  # acknowledged without a payload


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway application for `settings` (the environment's by default)."""
    settings = GatewaySettings.extending(settings) if settings is not None else get_settings()
    principals = PrincipalCache()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            statement_timeout_seconds=settings.statement_timeout_gateway_seconds,
        )
        redis = open_pool(settings.redis_url)
        sessions = session_factory(engine)
        hub = LiveHub(redis)
        hub.start()
        limiter = Limiter(redis, Budgets.from_settings(settings))
        sockets = OpenSockets(settings.websockets_per_key)
        gate = Gate(sessions, redis, principals, limiter, sockets)
        revocations = RevocationListener(redis, gate.revoked)
        revocations.start()
        app.state.resources = Resources(
            engine=engine, sessions=sessions, redis=redis, gate=gate, hub=hub
        )
        app.state.revocations = revocations
        # Everything built so far (schema, types, modules) lives as long as the process:
        # moving it out of the collector's sight keeps each full collection under load short.
        gc.freeze()
        try:
            yield
        finally:
            gc.unfreeze()
            await revocations.stop()
            await hub.stop()
            await redis.aclose()
            await engine.dispose()

    def resources(connection: HTTPConnection) -> Resources:
        held: Resources = connection.app.state.resources
        return held

    async def context(connection: HTTPConnection, response: Response) -> GatewayContext:
        held = resources(connection)
        authorization = connection.headers.get("authorization")
        address = connection.client.host if connection.client else None
        websocket = connection.scope["type"] == "websocket"
        principal = None
        # A WebSocket is signed in by its `connection_init` (GatewayRouter.on_ws_connect).
        if not websocket:
            admitted = await held.gate.admit(authorization, address)
            principal = admitted.principal
            bind(organization_id=principal.organization_id if principal else None)
            response.headers.update(admitted.verdict.headers())
        return GatewayContext(
            principal=principal,
            sessions=held.sessions,
            redis=held.redis,
            settings=settings,
            gate=held.gate,
            hub=held.hub,
            websocket=websocket,
            authorization=authorization,
            address=address,
        )

    # The explorers describe every route to whoever asks: a developer's tools, not production's.
    development = settings.is_development
    app = FastAPI(
        title="crisiswatch gateway",
        lifespan=lifespan,
        docs_url="/docs" if development else None,
        redoc_url="/redoc" if development else None,
        openapi_url="/openapi.json" if development else None,
    )
    app.add_middleware(BodyLimit)
    origins = AllowedOrigins.from_settings(settings)
    add_cors(app, origins, settings.cors_max_age_seconds)

    if development:
        # Declared before the GraphQL router so it answers GET without asking for a key.
        add_graphiql(app)

    app.include_router(
        GatewayRouter(
            build_schema(settings),
            origins=origins,
            documents=PersistedDocuments.from_settings(settings),
            context_getter=context,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=CONNECTION_INIT_TIMEOUT,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        ),
        prefix="/graphql",
        # GraphQL's contract is its schema (schema.graphql, introspection), not OpenAPI: the
        # generic entries FastAPI would list for /graphql describe no operation, and a client
        # generated from them could call none.
        include_in_schema=False,
    )

    @app.get("/livez", include_in_schema=False)
    async def livez() -> JSONResponse:
        """Answer 200 while the process and its event loop answer."""
        return live()

    @app.get("/readyz", include_in_schema=False)
    @app.get("/healthz", operation_id="getHealth", summary="Health", responses=HEALTH_ANSWERS)
    async def readyz(request: Request) -> JSONResponse:
        """Answer 200 when PostgreSQL and Redis both answer, else 503."""
        held = resources(request)
        return await ready(held.engine, held.redis)

    app.add_route("/metrics", metrics_response, include_in_schema=False)
    app.include_router(archive_router(settings))
    document_archive(app)
    add_console(app)

    @app.exception_handler(AuthError)
    async def auth_failed(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        headers.update(exc.headers)
        return JSONResponse(
            {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
            status_code=exc.status_code,
            headers=headers,
            media_type=graphql_media_type(request),
        )

    # Last: the request's span (if traced, docs/tracing.md) encloses every middleware.
    trace_requests(app, "gateway", settings)
    return app
