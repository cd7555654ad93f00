"""Keys and request budgets attacked: revoked keys, floods, guessed keys, push-only keys.

Findings 7 (a revoked key kept working for half a minute, its sockets for ever), 8 (budgets
were per key only, on a fixed window, and sockets were free) and 11 (ingest keys read data
back) of the review, each replayed against the real gateway and ingest apps on real
PostgreSQL and Redis.
"""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import GlobalID

from gateway.config import GatewaySettings
from gateway.tests.conftest import serve
from gateway.tests.subscription_support import (
    MENTIONS,
    Refused,
    bearer,
    live_client,
    serve_gateway,
)
from libs.auth.keys import resolve
from libs.contracts.enums import Role
from libs.privacy import generate_key
from libs.ratelimit import Budgets, Limiter, Verdict
from services.ingest.problems import PROBLEM_JSON
from services.ingest.tests.builders import complaint, mention, serve_ingest, settings_for
from tests.builders import Tenant, make_tenant
from tests.fixtures.servers import Servers

WATCHLISTS = {"query": "{ watchlists { id } }"}
REVOKE = """
mutation($id: ID!) { revokeApiKey(id: $id) { __typename ... on ApiKey { revokedAt } } }
"""
# Well within the cache's 30 s: a revocation heard over pub/sub takes milliseconds.
PROMPTLY = 3.0
RATE_FIELDS = {"ratelimit-limit", "ratelimit-remaining", "ratelimit-reset"}


async def _counted(limiter: Limiter, key: uuid.UUID, org: uuid.UUID) -> Verdict:
    """Count one request of a key, as the services do once the key is known."""
    tally = limiter.tally()
    await tally.key(key, org)
    return await tally.verdict()


@pytest_asyncio.fixture
async def settings(servers: Servers, redis: ArqRedis) -> GatewaySettings:
    """Gateway settings on the test servers, on an emptied Redis (no budget spent yet)."""
    return GatewaySettings(
        database_url=servers.database_url, redis_url=servers.redis_url, command_timeout_seconds=5
    )


@pytest_asyncio.fixture
async def acme(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessions, "acme")


async def _key_id(sessions: async_sessionmaker[AsyncSession], secret: str) -> uuid.UUID:
    async with sessions() as session:
        principal = await resolve(session, secret)
    assert principal is not None
    return principal.key_id


async def _revoke(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], tenant: Tenant, role: Role
) -> None:
    key_id = await _key_id(sessions, tenant.keys[role])
    answer = await http.post(
        "/graphql",
        json={"query": REVOKE, "variables": {"id": str(GlobalID("ApiKey", str(key_id)))}},
        headers=tenant.auth(Role.ADMIN),
    )
    assert answer.json()["data"]["revokeApiKey"]["__typename"] == "ApiKey", answer.text


async def _until(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    """Ask `check` every 50 ms until it holds or `seconds` have passed."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.05)
    return await check()


@pytest_asyncio.fixture
async def two_gateways(settings: GatewaySettings) -> AsyncIterator[tuple[str, str]]:
    """Two gateway processes (each with its own key cache) over the same servers."""
    async with serve_gateway(settings) as one, serve_gateway(settings) as other:
        yield one.http_url, other.http_url


# Finding 7: revocation.


async def test_a_key_revoked_on_one_gateway_is_refused_at_once_by_another(
    two_gateways: tuple[str, str], sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    here, there = two_gateways
    async with httpx.AsyncClient(base_url=here) as admin, httpx.AsyncClient(base_url=there) as b:
        viewer = acme.auth(Role.VIEWER)
        # The other gateway has checked the key and cached it.
        assert (await b.post("/graphql", json=WATCHLISTS, headers=viewer)).status_code == 200
        await _revoke(admin, sessions, acme, Role.VIEWER)

        async def refused() -> bool:
            answer = await b.post("/graphql", json=WATCHLISTS, headers=viewer)
            return answer.status_code == 401

        assert await _until(refused, PROMPTLY), "the other gateway still accepts the revoked key"


async def test_revoking_a_key_closes_its_open_subscriptions_on_every_gateway(
    settings: GatewaySettings, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with (
        serve_gateway(settings) as one,
        serve_gateway(settings) as other,
        live_client(other.url, bearer(acme.keys[Role.VIEWER])) as client,
    ):
        await client.subscribe(MENTIONS)
        await other.listening(acme.org.id)
        async with httpx.AsyncClient(base_url=one.http_url) as admin:
            await _revoke(admin, sessions, acme, Role.VIEWER)
        # A quiet subscription: nothing is delivered that would make it check its key.
        with pytest.raises(Refused) as closed:
            await client.receive(timeout=PROMPTLY)
    assert closed.value.code == 4403
    assert closed.value.reason == "The API key was revoked."


# Finding 8: budgets.


async def test_guessing_keys_from_one_address_runs_out_of_its_budget(
    settings: GatewaySettings, acme: Tenant
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_address_per_minute": 5})
    async with serve(limited) as http:
        guesses = [
            await http.post(
                "/graphql",
                json=WATCHLISTS,
                headers={"Authorization": f"Bearer cw_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}"},
            )
            for _ in range(6)
        ]
        # The address is spent: even a good key from it waits now.
        good = await http.post("/graphql", json=WATCHLISTS, headers=acme.auth(Role.VIEWER))
    assert [g.status_code for g in guesses] == [401] * 5 + [429]
    for refused in (guesses[-1], good):
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RateLimited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert refused.headers["RateLimit-Limit"] == "5"
        assert refused.headers["RateLimit-Remaining"] == "0"


async def test_guessing_keys_on_ingest_runs_out_of_the_address_budget(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    limited = settings_for(servers).model_copy(update={"rate_limit_per_address_per_minute": 4})
    async with serve_ingest(limited) as http:
        guesses = [
            await http.post(
                "/v1/mentions",
                json={"mentions": [mention()]},
                headers={"Authorization": f"Bearer cw_{uuid.uuid4().hex[:12]}_{uuid.uuid4().hex}"},
            )
            for _ in range(5)
        ]
    assert [g.status_code for g in guesses] == [401] * 4 + [429]
    assert guesses[-1].headers["content-type"] == PROBLEM_JSON
    assert 1 <= int(guesses[-1].headers["Retry-After"]) <= 60
    assert "client address" in guesses[-1].json()["detail"]


async def test_an_organization_cannot_multiply_its_budget_with_more_keys(
    settings: GatewaySettings, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    rival = await make_tenant(sessions, "rival")
    limited = settings.model_copy(update={"rate_limit_per_organization_per_minute": 4})
    roles = [Role.VIEWER, Role.RESPONDER, Role.ADMIN, Role.VIEWER, Role.RESPONDER]
    async with serve(limited) as http:
        answers = [
            await http.post("/graphql", json=WATCHLISTS, headers=acme.auth(role)) for role in roles
        ]
        other = await http.post("/graphql", json=WATCHLISTS, headers=rival.auth(Role.VIEWER))
    assert [a.status_code for a in answers] == [200] * 4 + [429]
    assert "organization" in answers[-1].json()["errors"][0]["message"]
    assert other.status_code == 200


async def test_a_burst_across_a_window_edge_gets_no_more_than_the_budget(
    redis: ArqRedis,
) -> None:
    # A 2-second window stands for the minute: a fixed window would let the budget through
    # just before its edge and again just after it.
    window, budget = 2, 5
    limiter = Limiter(
        redis, Budgets(per_key=budget, per_organization=0, per_address=0, window_seconds=window)
    )
    key, org = uuid.uuid4(), uuid.uuid4()
    await asyncio.sleep((window - 0.3 - time.time() % window) % window)
    before = [await _counted(limiter, key, org) for _ in range(budget)]
    await asyncio.sleep(max(0.0, window - time.time() % window) + 0.05)
    after = [await _counted(limiter, key, org) for _ in range(budget)]
    allowed = sum(v.allowed for v in before + after)
    assert allowed == budget, f"{allowed} requests within half a second on a budget of {budget}"


async def test_connection_init_counts_against_the_key_budget(
    settings: GatewaySettings, acme: Tenant
) -> None:
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    async with serve_gateway(limited) as served:
        key = bearer(acme.keys[Role.VIEWER])
        async with live_client(served.url, key), live_client(served.url, key):
            pass
        with pytest.raises(Refused) as refused:
            async with live_client(served.url, key):
                pass
    assert refused.value.code == 4429
    assert "This key may make 2 requests a minute" in refused.value.reason


async def test_a_key_cannot_hold_more_than_its_cap_of_open_sockets(
    settings: GatewaySettings, acme: Tenant
) -> None:
    capped = settings.model_copy(update={"websockets_per_key": 2})
    key = bearer(acme.keys[Role.VIEWER])
    async with serve_gateway(capped) as served:
        async with live_client(served.url, key), live_client(served.url, key):
            with pytest.raises(Refused) as refused:
                async with live_client(served.url, key):
                    pass
            # Another key of the same organization has sockets of its own.
            async with live_client(served.url, bearer(acme.keys[Role.RESPONDER])):
                pass
        # Closed sockets are given back.
        async with live_client(served.url, key), live_client(served.url, key):
            pass
    assert refused.value.code == 4429


async def test_answers_tell_the_client_its_budget(
    settings: GatewaySettings, servers: Servers, acme: Tenant
) -> None:
    async with serve(settings.model_copy(update={"rate_limit_per_minute": 10})) as http:
        answer = await http.post("/graphql", json=WATCHLISTS, headers=acme.auth(Role.VIEWER))
    assert answer.status_code == 200
    assert answer.headers["RateLimit-Limit"] == "10"
    assert answer.headers["RateLimit-Remaining"] == "9"
    assert 0 < int(answer.headers["RateLimit-Reset"]) <= 60
    async with serve_ingest(settings_for(servers, rate_limit_per_minute=7)) as http:
        pushed = await http.post(
            "/v1/mentions", json={"mentions": [mention()]}, headers=acme.auth(Role.INGEST)
        )
    assert pushed.status_code == 202
    assert set(pushed.headers) >= RATE_FIELDS
    assert pushed.headers["RateLimit-Limit"] == "7"
    assert pushed.headers["RateLimit-Remaining"] == "6"


# Finding 11: ingest keys push only.


async def test_an_ingest_key_cannot_read_mentions_or_complaints_back(
    servers: Servers, redis: ArqRedis, acme: Tenant
) -> None:
    async with serve_ingest(settings_for(servers, data_key=generate_key())) as http:
        ingest = acme.auth(Role.INGEST)
        pushed = await http.post("/v1/mentions", json={"mentions": [mention()]}, headers=ingest)
        filed = await http.post("/v1/complaints", json=complaint(), headers=ingest)
        assert pushed.status_code == 202 and filed.status_code == 201, (pushed.text, filed.text)
        paths = [
            f"/v1/mentions/{pushed.json()['results'][0]['id']}",
            f"/v1/complaints/{filed.json()['id']}",
        ]
        read_back = [await http.get(path, headers=ingest) for path in paths]
        viewer = [await http.get(path, headers=acme.auth(Role.VIEWER)) for path in paths]
    for refused in read_back:
        assert refused.status_code == 403, refused.text
        assert refused.headers["content-type"] == PROBLEM_JSON
        assert "`ingest` key may only push" in refused.json()["detail"]
        assert "`viewer`" in refused.json()["detail"]
    assert [v.status_code for v in viewer] == [200, 200]
