"""Readiness: the gateway is healthy only when PostgreSQL and Redis both answer."""

import asyncio
from collections.abc import Coroutine
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.messaging.connection import ArqRedis

CHECK_TIMEOUT_SECONDS = 2.0


async def check_postgres(engine: AsyncEngine) -> bool:
    """Return whether PostgreSQL answers a trivial query in time."""

    async def probe() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return await _answers(probe())


async def check_redis(redis: ArqRedis) -> bool:
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
