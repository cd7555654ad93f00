"""The request limiter counts in Redis, and in the process while Redis is away."""

import uuid

from arq.connections import ArqRedis

from libs import ratelimit


async def test_limits_are_shared_through_redis(redis: ArqRedis) -> None:
    key = uuid.uuid4()
    verdicts = [await ratelimit.hit(redis, key, 2, now=600.0) for _ in range(3)]
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].retry_after == 60
    assert (await ratelimit.hit(redis, key, 2, now=660.0)).allowed  # the next window


async def test_without_redis_the_process_keeps_counting_instead_of_failing() -> None:
    # Nothing listens on this port: every Redis call fails to connect.
    away = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        key = uuid.uuid4()
        verdicts = [await ratelimit.hit(away, key, 2, now=1200.0) for _ in range(3)]
    finally:
        await away.aclose()
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].remaining == 0
