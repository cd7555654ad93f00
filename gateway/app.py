"""The gateway's HTTP entry point: `uvicorn --factory gateway.app:create_app`.

Routes: POST /graphql runs operations for a bearer key, GET /graphql serves GraphiQL for a
person in a browser (it sends the key from its headers pane), GET /healthz reports whether
PostgreSQL and Redis answer.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from arq.connections import ArqRedis
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.fastapi import GraphQLRouter
from strawberry.http.ides import get_graphql_ide_html

from gateway.auth import AuthError, PrincipalCache, authenticate
from gateway.context import GatewayContext
from gateway.health import check_postgres, check_redis
from gateway.schema import build_schema
from libs import ratelimit
from libs.database.engine import create_engine, session_factory
from libs.messaging.connection import connect
from libs.settings import Settings, get_settings


@dataclass
class Resources:
    """What the lifespan opens once per process and closes at shutdown."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the gateway application for `settings` (the environment's by default)."""
    settings = settings or get_settings()
    principals = PrincipalCache()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(settings.database_url)
        redis = await connect(settings.redis_url)
        app.state.resources = Resources(
            engine=engine, sessions=session_factory(engine), redis=redis
        )
        try:
            yield
        finally:
            await redis.aclose()
            await engine.dispose()

    def resources(request: Request) -> Resources:
        held: Resources = request.app.state.resources
        return held

    async def context(request: Request) -> GatewayContext:
        held = resources(request)
        principal = await authenticate(
            request.headers.get("authorization"), held.sessions, principals
        )
        verdict = await ratelimit.hit(held.redis, principal.key_id, settings.rate_limit_per_minute)
        if not verdict.allowed:
            raise AuthError(
                429,
                "RateLimited",
                f"This key may make {verdict.limit} requests a minute; "
                f"try again in {verdict.retry_after} s.",
                retry_after=verdict.retry_after,
            )
        return GatewayContext(
            principal=principal, sessions=held.sessions, redis=held.redis, settings=settings
        )

    app = FastAPI(title="crisiswatch gateway", lifespan=lifespan)
    graphiql = get_graphql_ide_html("graphiql")

    # Declared before the GraphQL router so it answers GET without asking for a key.
    @app.get("/graphql", response_class=HTMLResponse, include_in_schema=False)
    async def graphql_ide() -> HTMLResponse:
        return HTMLResponse(graphiql)

    app.include_router(
        GraphQLRouter(
            build_schema(settings),
            context_getter=context,
            graphql_ide=None,
            allow_queries_via_get=False,
        ),
        prefix="/graphql",
    )

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        """Report whether PostgreSQL and Redis answer: 200 when both do, else 503."""
        held = resources(request)
        checks = {
            "postgres": await check_postgres(held.engine),
            "redis": await check_redis(held.redis),
        }
        healthy = all(checks.values())
        return JSONResponse(
            {
                "status": "ok" if healthy else "unavailable",
                "checks": {name: "ok" if up else "down" for name, up in checks.items()},
            },
            status_code=200 if healthy else 503,
        )

    @app.exception_handler(AuthError)
    async def auth_failed(request: Request, exc: AuthError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return JSONResponse(
            {"errors": [{"message": exc.message, "extensions": {"code": exc.code}}]},
            status_code=exc.status_code,
            headers=headers,
        )

    return app
