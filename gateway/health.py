"""Probes: `/livez` answers while the process does; `/readyz` (and `/healthz`, its older
name) only when PostgreSQL and Redis both answer, so a database blip takes the gateway out of
the load balancer without restarting it.

`/healthz` is in the OpenAPI document (`HEALTH_ANSWERS`): its 503 is the same readiness
document as its 200, `application/json`, not a problem document, since it reports on the
gateway's dependencies rather than refusing the caller.
"""

import asyncio
from typing import Any, Literal

from pydantic import BaseModel, Field
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

__all__ = [
    "CHECK_TIMEOUT_SECONDS",
    "HEALTH_ANSWERS",
    "Readiness",
    "check_postgres",
    "check_redis",
    "live",
    "ready",
]


class Readiness(BaseModel):
    """What `/readyz` and `/healthz` answer (`libs.metrics.probes.readiness_body`)."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, Literal["ok", "down"]] = Field(
        description="Each dependency (`postgres`, `redis`) and whether it answered in time."
    )


HEALTH_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"model": Readiness, "description": "PostgreSQL and Redis both answer."},
    503: {"model": Readiness, "description": "A dependency does not answer; `checks` names it."},
}


def live() -> JSONResponse:
    """Answer 200: the process and its event loop answer; dependencies are not asked."""
    return liveness_response()


async def ready(engine: AsyncEngine, redis: ArqRedis) -> JSONResponse:
    """Answer 200 when PostgreSQL and Redis answer, else 503 naming the one that does not."""
    postgres, answered = await asyncio.gather(check_postgres(engine), check_redis(redis))
    return readiness_response({"postgres": postgres, "redis": answered})
