"""Bearer keys: each one's request budget."""

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from services.ingest.tests.builders import mention, serve_ingest, settings_for
from tests.builders import Tenant
from tests.fixtures.servers import Servers


async def test_a_key_over_its_request_budget_gets_429_with_retry_after(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis, tenant: Tenant
) -> None:
    async with serve_ingest(settings_for(servers, rate_limit_per_minute=2)) as http:
        answers = [
            await http.post(
                "/v1/mentions",
                json={"mentions": [mention(f"r{i}")]},
                headers=tenant.auth(Role.INGEST),
            )
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[-1].headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].json()["status"] == 429
