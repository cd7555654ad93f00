"""Which workers have finished starting and still consume, so "up" means work gets done.

A worker loads its models and dictionaries before it takes jobs; on a cold machine that
takes seconds. Each worker marks itself ready in Redis once its start-up hook is done and
keeps the mark alive with a heartbeat while it consumes; the mark expires `READY_TTL_SECONDS`
after the last beat, so a worker that died or stopped consuming does not stay "ready", and a
worker that stops takes its own mark away (not a replica's that beat since). The launcher
clears the marks before starting the workers and waits for them before it says the system is
up; `crisiswatch status` shows them.
"""

import asyncio
import os
import socket
import time
from collections.abc import Iterable

from arq.connections import ArqRedis
from redis.asyncio import Redis

from libs.messaging.connection import connect

_PREFIX = "crisiswatch:ready:"
HEARTBEAT_SECONDS = 10.0
# Three missed beats: a blocked loop or a lost connection for longer than that is not ready.
READY_TTL_SECONDS = 30

# Delete the mark only if it still names this process: another replica may have beaten since.
_UNMARK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


def _key(consumer: str) -> str:
    return f"{_PREFIX}{consumer}"


def identity() -> str:
    """Return what a mark holds: this process's host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def mark_ready(redis: Redis, consumer: str) -> None:
    """Record that `consumer` takes jobs now, for the next `READY_TTL_SECONDS`."""
    await redis.set(_key(consumer), identity(), ex=READY_TTL_SECONDS)


async def unmark(redis: Redis, consumer: str) -> None:
    """Take this process's mark away, leaving another replica's in place."""
    await redis.eval(_UNMARK, 1, _key(consumer), identity())  # type: ignore[misc]


async def marks(redis: Redis, consumers: Iterable[str]) -> dict[str, str | None]:
    """Return each consumer's mark (`host:pid` of the replica that beat last), or None."""
    names = list(consumers)
    found = await redis.mget([_key(c) for c in names]) if names else []
    return {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in zip(names, found, strict=True)
    }


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
    redis: ArqRedis = await connect(redis_url)
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
