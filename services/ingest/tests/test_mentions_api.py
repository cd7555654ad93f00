"""The ingest API over HTTP against real PostgreSQL and Redis."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.tables import Author, Mention, OutboxMessage
from libs.settings import Settings
from services.ingest.app import create_app
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers


def mention(external_id: str = "4890123", **overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "source": "weibo",
        "external_id": external_id,
        "text": "<p>禾元奶粉喝了以后宝宝拉肚子，已经向客服投诉！</p>",
        "url": "https://weibo.com/1234567890/NxYz12345",
        "posted_at": "2026-11-21T08:00:00+08:00",
        "author": {"handle": "新手妈妈小林", "followers": 1200, "verified": False, "kind": "user"},
        "metrics": {"reposts": 10, "comments": 3, "likes": 40, "views": 5000},
        "repost_of": None,
    }
    item.update(overrides)
    return item


@pytest_asyncio.fixture
async def client(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=servers.database_url, redis_url=servers.redis_url))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


@pytest_asyncio.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessions)


async def count(sessions: async_sessionmaker[AsyncSession], table: Any) -> int:
    async with sessions() as session:
        result = await session.exec(select(func.count()).select_from(table))  # type: ignore[call-overload]
        return int(result.scalar_one())


async def test_accepted_mentions_are_stored_and_queued_for_analysis(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    response = await client.post(
        "/v1/mentions",
        json={"mentions": [mention("1"), mention("2", source="xiaohongshu")]},
        headers=tenant.auth(Role.INGEST),
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == 2 and body["rejected"] == 0
    assert [r["status"] for r in body["results"]] == ["accepted", "accepted"]
    assert await count(sessions, Mention) == 2
    assert await count(sessions, Author) == 2  # same handle on two sources is two accounts
    assert await redis.zcard(ANALYSIS_QUEUE) == 1  # one message carries the whole batch
    async with sessions() as session:
        row = await session.get(Mention, uuid.UUID(body["results"][0]["id"]))
        assert row is not None
        assert row.text.startswith("<p>") and row.text_normalized.startswith("禾元奶粉")
        outbox_rows = (await session.exec(select(OutboxMessage))).all()  # type: ignore[call-overload]
        assert len(outbox_rows) == 1 and outbox_rows[0][0].published_at is not None


async def test_duplicate_mention_is_ignored_and_answers_the_existing_id(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    headers = tenant.auth(Role.INGEST)
    first = await client.post("/v1/mentions", json={"mentions": [mention("7")]}, headers=headers)
    again = await client.post(
        "/v1/mentions", json={"mentions": [mention("7"), mention("7")]}, headers=headers
    )
    original = first.json()["results"][0]["id"]
    assert [r["status"] for r in again.json()["results"]] == ["duplicate", "duplicate"]
    assert {r["id"] for r in again.json()["results"]} == {original}
    assert await count(sessions, Mention) == 1
    assert await redis.zcard(ANALYSIS_QUEUE) == 1  # nothing new, nothing queued


async def test_same_item_twice_in_one_batch_is_one_mention(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    response = await client.post(
        "/v1/mentions",
        json={"mentions": [mention("9"), mention("9")]},
        headers=tenant.auth(Role.INGEST),
    )
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["accepted", "duplicate"]
    assert await count(sessions, Mention) == 1


async def test_bad_item_is_rejected_with_its_field_without_blocking_the_batch(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    bad_time = mention("b1", posted_at="2026-11-21T08:00:00")  # no time zone
    bad_source = mention("b2", source="myspace")
    bad_followers = mention("b3", author={"handle": "x", "followers": -1})
    response = await client.post(
        "/v1/mentions",
        json={"mentions": [bad_time, mention("ok"), bad_source, bad_followers, "not an object"]},
        headers=tenant.auth(Role.INGEST),
    )
    assert response.status_code == 202
    results = response.json()["results"]
    assert [r["status"] for r in results] == [
        "rejected",
        "accepted",
        "rejected",
        "rejected",
        "rejected",
    ]
    assert results[0]["errors"][0]["field"] == "mentions[0].posted_at"
    assert results[2]["errors"][0]["field"] == "mentions[2].source"
    assert results[3]["errors"][0]["field"] == "mentions[3].author.followers"
    assert results[4]["errors"][0]["field"] == "mentions[4]"
    assert await count(sessions, Mention) == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"text": "奶粉\x00有问题"}, "text"),
        ({"external_id": "nul\x00"}, "external_id"),
        ({"author": {"handle": "x", "followers": 5_000_000_000}}, "author.followers"),
        ({"metrics": {"views": 2**31}}, "metrics.views"),
        ({"url": "https://weibo.com/" + "x" * 2100}, "url"),
        ({"posted_at": "0001-01-01T00:00:00+08:00"}, "posted_at"),
        ({"posted_at": "2099-01-01T00:00:00+08:00"}, "posted_at"),
    ],
)
async def test_values_the_database_cannot_hold_are_rejected_per_item(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    overrides: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(
        "/v1/mentions",
        json={"mentions": [{**mention("bad"), **overrides}, mention("good")]},
        headers=tenant.auth(Role.INGEST),
    )
    assert response.status_code == 202, response.text
    bad, good = response.json()["results"]
    assert bad["status"] == "rejected"
    assert bad["errors"][0]["field"] == f"mentions[0].{field}"
    assert good["status"] == "accepted"
    assert await count(sessions, Mention) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mentions": []}, "mentions"),
        ({"items": []}, "mentions"),
        ({"mentions": [mention(str(i)) for i in range(1001)]}, "mentions"),
        ({"mentions": "nope"}, "mentions"),
    ],
)
async def test_malformed_body_is_refused_naming_the_problem(
    client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v1/mentions", json=body, headers=tenant.auth(Role.INGEST))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == field


async def test_invalid_json_is_a_422_not_a_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/mentions",
        content=b"{not json",
        headers={**tenant.auth(Role.INGEST), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert "not valid JSON" in response.json()["detail"]


async def test_keys_are_required_and_scoped_to_their_organization(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    other = await make_tenant(sessions, "other")
    missing = await client.post("/v1/mentions", json={"mentions": [mention()]})
    assert missing.status_code == 401
    wrong = await client.post(
        "/v1/mentions",
        json={"mentions": [mention()]},
        headers={"Authorization": "Bearer cw_000000000000_forged"},
    )
    assert wrong.status_code == 401
    viewer = await client.post(
        "/v1/mentions", json={"mentions": [mention()]}, headers=tenant.auth(Role.VIEWER)
    )
    assert viewer.status_code == 403
    created = await client.post(
        "/v1/mentions", json={"mentions": [mention()]}, headers=tenant.auth(Role.INGEST)
    )
    mention_id = created.json()["results"][0]["id"]
    own = await client.get(f"/v1/mentions/{mention_id}", headers=tenant.auth(Role.VIEWER))
    assert own.status_code == 200
    assert own.json()["analysis"] is None
    assert own.json()["author"]["handle"] == "新手妈妈小林"
    foreign = await client.get(f"/v1/mentions/{mention_id}", headers=other.auth(Role.ADMIN))
    assert foreign.status_code == 404
    # The same external id in another organization is another mention.
    theirs = await client.post(
        "/v1/mentions", json={"mentions": [mention()]}, headers=other.auth(Role.INGEST)
    )
    assert theirs.json()["results"][0]["status"] == "accepted"


async def test_openapi_documents_the_item_schema(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    body = spec["paths"]["/v1/mentions"]["post"]["requestBody"]["content"]["application/json"]
    assert "mentions" in body["schema"]["properties"]
    assert (await client.get("/docs")).status_code == 200


async def test_a_key_over_its_request_budget_gets_429_with_retry_after(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis, tenant: Tenant
) -> None:
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, rate_limit_per_minute=2
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {tenant.keys[Role.INGEST]}"}
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        answers = [
            await http.post("/v1/mentions", json={"mentions": [mention(f"r{i}")]}, headers=headers)
            for i in range(3)
        ]
    assert [a.status_code for a in answers] == [202, 202, 429]
    assert answers[-1].headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].json()["status"] == 429
