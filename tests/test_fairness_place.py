"""Fair placement moves only a job still waiting and due: never one a worker took, never a
retry's back-off (a placed retry would skip its wait and jump the queue).

On a Redis of the test's own: the shared test server's databases are emptied by other
tests' fixtures, and a job flushed away reads as "not waiting".
"""

import uuid
from collections.abc import AsyncIterator

import pytest_asyncio
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from crisiswatch.embedded import EmbeddedRedis
from libs.messaging.connection import connect
from libs.messaging.fairness import place

QUEUE = "crisiswatch:test-fairness"


async def _queued(redis: ArqRedis, *, defer_by: float | None = None) -> str:
    job_id = uuid.uuid4().hex
    await redis.enqueue_job("x.v1", {}, _job_id=job_id, _queue_name=QUEUE, _defer_by=defer_by)
    return job_id


@pytest_asyncio.fixture
async def redis(own_redis: EmbeddedRedis) -> AsyncIterator[ArqRedis]:
    pool = await connect(own_redis.url)
    yield pool
    await pool.aclose()


async def test_a_waiting_job_is_placed_and_a_taken_or_deferred_one_is_not(
    redis: ArqRedis,
) -> None:
    organization = {"organization_id": str(uuid.uuid4()), "mention_ids": []}

    waiting = await _queued(redis)
    assert await place(redis, QUEUE, waiting, organization) is not None

    taken = await _queued(redis)
    await redis.set(in_progress_key_prefix + taken, b"1", px=10_000)
    before = await redis.zscore(QUEUE, taken)
    assert await place(redis, QUEUE, taken, organization) is None
    assert await redis.zscore(QUEUE, taken) == before

    deferred = await _queued(redis, defer_by=60)
    before = await redis.zscore(QUEUE, deferred)
    assert await place(redis, QUEUE, deferred, organization) is None
    assert await redis.zscore(QUEUE, deferred) == before
