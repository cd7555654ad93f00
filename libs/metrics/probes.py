"""Answers to "do my dependencies answer?", shared by every process's readiness probe.

Each check is bounded: a hung server reads as down within `CHECK_TIMEOUT_SECONDS`, so a
probe answers before the orchestrator's own timeout.
"""

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.responses import JSONResponse

CHECK_TIMEOUT_SECONDS = 2.0


async def check_postgres(engine: AsyncEngine) -> bool:
    """Return whether PostgreSQL answers a trivial query in time."""

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return await _answers(probe())


async def check_sessions(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Return whether PostgreSQL answers a trivial query in time, through a session factory."""

    async def probe() -> None:
        async with sessions() as session:
            connection = await session.connection()
            await connection.execute(text("SELECT 1"))

    return await _answers(probe())


async def check_redis(redis: Redis) -> bool:
    """Return whether Redis answers a ping in time."""

    async def probe() -> None:
        await redis.ping()

    return await _answers(probe())


async def _answers(probe: Coroutine[Any, Any, None]) -> bool:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except Exception:
        # Any failure (refused, timed out, bad credentials) makes the dependency unusable.
        return False
    return True


def readiness_body(checks: Mapping[str, bool]) -> tuple[dict[str, Any], int]:
    """Return the readiness document and its status: 200 when every check passed, else 503."""
    ready = all(checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {name: "ok" if up else "down" for name, up in checks.items()},
    }
    return body, 200 if ready else 503


def readiness_response(checks: Mapping[str, bool]) -> JSONResponse:
    """`/readyz` of an HTTP service from its checks."""
    body, status = readiness_body(checks)
    return JSONResponse(body, status_code=status)


def liveness_response() -> JSONResponse:
    """`/livez`: the process and its event loop answer; dependencies are not asked."""
    return JSONResponse({"status": "ok"})
