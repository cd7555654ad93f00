"""The mention routes over HTTP against real PostgreSQL and Redis."""

import uuid
from datetime import timedelta

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.tables import Author, Mention, OutboxMessage
from libs.text import normalize
from services.ingest.tests.builders import count, mention
from tests.builders import Tenant, make_tenant


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
        assert row.text.startswith("<p>") and normalize(row.text).startswith("禾元奶粉")
        outbox_rows = (await session.exec(select(OutboxMessage))).all()  # type: ignore[call-overload]
        assert len(outbox_rows) == 1 and outbox_rows[0][0].published_at is not None


async def test_a_push_whose_transaction_outlasts_its_bound_keeps_nothing_and_can_be_resent(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No transaction lasts zero time: every push is past this bound when it would commit.
    monkeypatch.setattr("services.ingest.dependencies.STORE_WITHIN", timedelta(0))
    headers = {**tenant.auth(Role.INGEST), "Idempotency-Key": "slow-1"}
    body = {"mentions": [mention("1")]}
    refused = await client.post("/v1/mentions", json=body, headers=headers)
    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.headers["retry-after"] == "5"
    assert "nothing was kept" in refused.json()["detail"]
    assert await count(sessions, Mention) == 0
    assert await count(sessions, OutboxMessage) == 0
    assert await redis.zcard(ANALYSIS_QUEUE) == 0

    monkeypatch.undo()
    again = await client.post("/v1/mentions", json=body, headers=headers)
    assert again.status_code == 202, again.text
    assert again.json()["accepted"] == 1
    assert await count(sessions, Mention) == 1


async def test_a_malformed_body_is_refused_as_a_problem(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(
        "/v1/mentions", json={"items": []}, headers=tenant.auth(Role.INGEST)
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["field"] == "mentions"
    assert await count(sessions, Mention) == 0


async def test_invalid_json_is_a_422_not_a_500(client: httpx.AsyncClient, tenant: Tenant) -> None:
    response = await client.post(
        "/v1/mentions",
        content=b"{not json",
        headers={**tenant.auth(Role.INGEST), "content-type": "application/json"},
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
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
