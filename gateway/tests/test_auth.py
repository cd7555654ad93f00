"""Who may call the gateway: keys, roles, the principal cache, GraphiQL and health."""

import uuid
from datetime import UTC, datetime

import httpx
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.app import create_app
from gateway.auth import PrincipalCache
from libs.auth.keys import Principal
from libs.contracts.enums import Role
from libs.database.engine import transaction
from libs.database.tables import ApiKey
from libs.settings import Settings
from tests.builders import Tenant
from tests.fixtures.http import serving

WATCHLISTS = "{ watchlists { name } }"


async def test_request_without_a_key_is_refused_with_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": WATCHLISTS})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_key_is_refused_with_401(client: httpx.AsyncClient, acme: Tenant) -> None:
    forged = acme.keys[Role.VIEWER][:-4] + "AAAA"
    response = await client.post(
        "/graphql", json={"query": WATCHLISTS}, headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    assert "unknown or revoked" in response.json()["errors"][0]["message"]


async def test_ingest_key_is_refused_with_403(client: httpx.AsyncClient, acme: Tenant) -> None:
    response = await client.post(
        "/graphql", json={"query": WATCHLISTS}, headers=acme.auth(Role.INGEST)
    )
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_viewer_key_can_query(client: httpx.AsyncClient, acme: Tenant) -> None:
    response = await client.post(
        "/graphql", json={"query": WATCHLISTS}, headers=acme.auth(Role.VIEWER)
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"watchlists": []}


async def test_revoked_key_keeps_working_only_until_its_cache_entry_expires(
    settings: Settings,
    client: httpx.AsyncClient,
    acme: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    headers = acme.auth(Role.VIEWER)
    assert (await client.post("/graphql", json={"query": WATCHLISTS}, headers=headers)).is_success
    async with transaction(sessions) as session:
        await session.exec(update(ApiKey).values(revoked_at=datetime.now(UTC)))
    cached = await client.post("/graphql", json={"query": WATCHLISTS}, headers=headers)
    assert cached.status_code == 200

    fresh = create_app(settings)
    async with serving(fresh) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.post("/graphql", json={"query": WATCHLISTS}, headers=headers)
    assert response.status_code == 401


def test_cached_principal_expires_after_its_ttl() -> None:
    now = [1000.0]
    cache = PrincipalCache(ttl=30, clock=lambda: now[0])
    principal = Principal(key_id=uuid.uuid4(), organization_id=uuid.uuid4(), role=Role.VIEWER)
    cache.put("cw_abc_secret", principal)
    now[0] += 29
    assert cache.get("cw_abc_secret") == principal
    now[0] += 2
    assert cache.get("cw_abc_secret") is None


def test_principal_cache_evicts_the_oldest_entry_when_full() -> None:
    cache = PrincipalCache(max_entries=2)
    principal = Principal(key_id=uuid.uuid4(), organization_id=uuid.uuid4(), role=Role.VIEWER)
    for secret in ("one", "two", "three"):
        cache.put(secret, principal)
    assert cache.get("one") is None
    assert cache.get("three") == principal


async def test_graphiql_is_served_to_a_browser_without_a_key_in_development(
    settings: Settings, redis: object
) -> None:
    development = create_app(settings.model_copy(update={"crisiswatch_env": "development"}))
    async with serving(development) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_get_never_executes_an_operation(
    settings: Settings, redis: object, acme: Tenant
) -> None:
    for environment in ("development", "production"):
        app = create_app(settings.model_copy(update={"crisiswatch_env": environment}))
        async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
            response = await http.get(
                "/graphql", params={"query": WATCHLISTS}, headers=acme.auth(Role.VIEWER)
            )
        assert '"data"' not in response.text, environment


async def test_health_is_ok_when_postgres_and_redis_answer(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}


async def test_health_is_503_when_postgres_does_not_answer(settings: Settings) -> None:
    broken = settings.model_copy(
        update={"database_url": settings.database_url.rsplit("/", 1)[0] + "/no_such_database"}
    )
    app = create_app(broken)
    async with serving(app) as url, httpx.AsyncClient(base_url=url) as http:
        response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"postgres": "down", "redis": "ok"}
