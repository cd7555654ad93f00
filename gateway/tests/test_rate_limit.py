"""Each API key gets a request budget per minute; beyond it the answer is 429 with Retry-After."""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.conftest import serve
from libs.contracts.enums import Role
from libs.settings import Settings
from tests.builders import Tenant, make_tenant

QUERY = {"query": "{ watchlists { id } }"}


async def test_a_key_over_its_budget_waits_and_other_keys_do_not(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    globex = await make_tenant(sessions, "globex")
    limited = settings.model_copy(update={"rate_limit_per_minute": 3})
    async with serve(limited) as http:
        viewer = {"Authorization": f"Bearer {acme.keys[Role.VIEWER]}"}
        answers = [await http.post("/graphql", json=QUERY, headers=viewer) for _ in range(4)]
        other = await http.post(
            "/graphql", json=QUERY, headers={"Authorization": f"Bearer {globex.keys[Role.VIEWER]}"}
        )
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["errors"][0]["extensions"]["code"] == "RateLimited"
    assert other.status_code == 200


async def test_no_limit_when_the_budget_is_zero(settings: Settings, acme: Tenant) -> None:
    async with serve(settings.model_copy(update={"rate_limit_per_minute": 0})) as http:
        viewer = {"Authorization": f"Bearer {acme.keys[Role.VIEWER]}"}
        codes = {
            (await http.post("/graphql", json=QUERY, headers=viewer)).status_code for _ in range(5)
        }
    assert codes == {200}
