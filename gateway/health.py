"""Probes: `/livez` answers while the process does; `/readyz` (and `/healthz`, its older
name) only when PostgreSQL and Redis both answer, so a database blip takes the gateway out of
the load balancer without restarting it."""

import asyncio

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import JSONResponse

from libs.messaging.connection import ArqRedis
from libs.metrics.probes import (
    CHECK_TIMEOUT_SECONDS,
    check_postgres,
    check_redis,
    liveness_response,
    readiness_response,
)

__all__ = ["CHECK_TIMEOUT_SECONDS", "check_postgres", "check_redis", "live", "ready"]


def live() -> JSONResponse:
    """Answer 200: the process and its event loop answer; dependencies are not asked."""
    return liveness_response()


async def ready(engine: AsyncEngine, redis: ArqRedis) -> JSONResponse:
    """Answer 200 when PostgreSQL and Redis answer, else 503 naming the one that does not."""
    postgres, answered = await asyncio.gather(check_postgres(engine), check_redis(redis))
    return readiness_response({"postgres": postgres, "redis": answered})
