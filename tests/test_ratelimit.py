"""The request limiter counts in Redis, and in the process while Redis is away."""

import uuid

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.embedded import EmbeddedRedis
from libs.contracts.enums import Role
from libs.ratelimit import Budgets, Limiter, Scope, Verdict
from services.ingest.config import IngestSettings
from services.ingest.tests.builders import mention, serve_ingest
from tests.builders import make_tenant
from tests.fixtures.servers import Servers


async def _counted(limiter: Limiter, key: uuid.UUID, org: uuid.UUID) -> Verdict:
    """Count one request of a key, as the services do once the key is known."""
    tally = limiter.tally()
    await tally.key(key, org)
    return await tally.verdict()


async def test_limits_are_shared_through_redis(redis: ArqRedis) -> None:
    key, org = uuid.uuid4(), uuid.uuid4()
    budgets = Budgets(per_key=2, per_organization=0, per_address=0)
    one, other = Limiter(redis, budgets), Limiter(redis, budgets)  # two processes
    verdicts = [await _counted(one, key, org), await _counted(other, key, org)]
    refused = await _counted(one, key, org)
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
        verdicts = [await _counted(limiter, key, org) for _ in range(3)]
    finally:
        await away.aclose()
    assert [v.allowed for v in verdicts] == [True, True, False]
    assert verdicts[-1].remaining == 0


async def test_a_budget_of_zero_is_no_limit(redis: ArqRedis) -> None:
    limiter = Limiter(redis, Budgets(per_key=0, per_organization=0, per_address=0))
    verdict = await _counted(limiter, uuid.uuid4(), uuid.uuid4())
    assert verdict.allowed and verdict.headers() == {}


async def test_ingest_keeps_accepting_while_redis_is_down_and_still_limits_per_process(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], own_redis: EmbeddedRedis
) -> None:
    tenant = await make_tenant(sessions)
    settings = IngestSettings(
        database_url=servers.database_url, redis_url=own_redis.url, rate_limit_per_minute=3
    )
    async with serve_ingest(settings) as http:
        own_redis.stop()
        answers = [
            await http.post(
                "/v1/mentions",
                json={"mentions": [mention(f"away-{i}")]},
                headers=tenant.auth(Role.INGEST),
            )
            for i in range(4)
        ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    assert answers[0].headers["RateLimit-Remaining"] == "2"
