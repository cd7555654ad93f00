"""Which workers have finished starting, so "the system is up" means work gets done.

A worker loads its models and dictionaries before it takes jobs; on a cold machine that
takes seconds. Each worker marks itself ready in Redis once its start-up hook is done, and
the launcher clears the marks before starting the workers and waits for them before it
says the system is up.
"""

import asyncio
import os
import time
from collections.abc import Iterable

from arq.connections import ArqRedis

from libs.messaging.connection import connect

_PREFIX = "crisiswatch:ready:"


def _key(consumer: str) -> str:
    return f"{_PREFIX}{consumer}"


async def mark_ready(redis: ArqRedis, consumer: str) -> None:
    """Record that `consumer` has started and takes jobs now."""
    await redis.set(_key(consumer), str(os.getpid()))


async def clear(redis_url: str, consumers: Iterable[str]) -> None:
    """Forget earlier marks, before the consumers are started again."""
    redis = await connect(redis_url)
    try:
        keys = [_key(c) for c in consumers]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def wait_ready(redis_url: str, consumers: Iterable[str], timeout: float) -> list[str]:
    """Wait until every consumer is marked ready; return those still missing at `timeout`."""
    redis = await connect(redis_url)
    deadline = time.monotonic() + timeout
    pending = [_key(c) for c in consumers]
    try:
        while pending:
            found = await redis.mget(*pending)
            pending = [key for key, value in zip(pending, found, strict=True) if value is None]
            if not pending or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()
    return [key.removeprefix(_PREFIX) for key in pending]
