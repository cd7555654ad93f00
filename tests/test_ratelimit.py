"""The request limiter counts in Redis, and in the process while Redis is away."""

import uuid

from arq.connections import ArqRedis

from libs.ratelimit import Budgets, Limiter, Scope


async def test_limits_are_shared_through_redis(redis: ArqRedis) -> None:
    key, org = uuid.uuid4(), uuid.uuid4()
    budgets = Budgets(per_key=2, per_organization=0, per_address=0)
    one, other = Limiter(redis, budgets), Limiter(redis, budgets)  # two processes
    verdicts = [await one.hit_key(key, org), await other.hit_key(key, org)]
    refused = await one.hit_key(key, org)
    assert [v.allowed for v in verdicts] == [True, True]
    assert [v.remaining for v in verdicts] == [1, 0]
    assert not refused.allowed and refused.scope is Scope.KEY
    assert 1 <= refused.retry_after <= 60
    assert refused.headers()["Retry-After"] == str(refused.retry_after)


async def test_without_redis_the_process_keeps_counting_instead_of_failing() -> None:
    # Nothing listens on this port: every Redis call fails to connect.
    away = ArqRedis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    try:
        limiter = Limiter(away, Budgets(per_key=2, per_organization=0, per_address=0))
        key, org = uuid.uuid4(), uuid.uuid4()
        verdicts = [await limiter.hit_key(key, org) for _ in range(3)]
    finally:
        await away.aclose()
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].remaining == 0


async def test_a_budget_of_zero_is_no_limit(redis: ArqRedis) -> None:
    limiter = Limiter(redis, Budgets(per_key=0, per_organization=0, per_address=0))
    verdict = await limiter.hit_key(uuid.uuid4(), uuid.uuid4())
    assert verdict.allowed and verdict.headers() == {}
