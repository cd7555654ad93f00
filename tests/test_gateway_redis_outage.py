"""The gateway while Redis is away: reads still answer, a change says it could not be sent.

Redis carries commands to the services; reads need only PostgreSQL. The test runs a Redis
of its own (the shared one cannot be stopped under the other tests) beside the test
backend's PostgreSQL.
"""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.embedded import EmbeddedRedis
from gateway.config import GatewaySettings
from gateway.tests.conftest import serve
from libs.contracts.enums import Role
from libs.database.engine import transaction
from tests.builders import make_tenant, watchlist
from tests.fixtures.servers import Servers

WATCHLISTS = "{ watchlists { name } }"
CREATE = """
mutation($input: CreateWatchlistInput!) {
  createWatchlist(input: $input) { __typename }
}
"""


async def test_reads_answer_and_changes_are_refused_clearly_while_redis_is_down(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    own_redis: EmbeddedRedis,
) -> None:
    tenant = await make_tenant(sessions)
    async with transaction(sessions) as session:
        await watchlist(session, tenant.org, "禾岚")
    settings = GatewaySettings(
        database_url=servers.database_url, redis_url=own_redis.url, command_timeout_seconds=5.0
    )
    async with serve(settings) as http:

        async def ask(role: Role, query: str, variables: dict[str, object]) -> dict[str, object]:
            answer = await http.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers=tenant.auth(role),
            )
            assert answer.status_code == 200, answer.text
            body: dict[str, object] = answer.json()
            return body

        assert (await ask(Role.VIEWER, WATCHLISTS, {}))["data"] == {
            "watchlists": [{"name": "禾岚"}]
        }
        own_redis.stop()

        # The cost budget is kept in the process meanwhile: reads are still priced and answered.
        during = await ask(Role.VIEWER, WATCHLISTS, {})
        assert during["data"] == {"watchlists": [{"name": "禾岚"}]}
        assert during["extensions"] == {
            "cost": {"requested": 20, "limit": 50_000, "budgetRemaining": 249_980}
        }
        refused = await ask(
            Role.RESPONDER, CREATE, {"input": {"name": "新品", "keywords": ["新品"]}}
        )
    assert refused["data"] is None
    errors = refused["errors"]
    assert isinstance(errors, list)
    assert errors[0]["message"] == (
        "The queue to the analysis service is not answering; the change was not sent. "
        "Try again shortly."
    )
    assert errors[0]["extensions"] == {"code": "UNAVAILABLE"}
