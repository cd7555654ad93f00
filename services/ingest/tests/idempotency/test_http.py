"""`Idempotency-Key` on both POST routes, over HTTP against real PostgreSQL and Redis."""

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.engine import transaction
from libs.database.tables import Complaint, IdempotencyRecord, Mention
from libs.database.tables._types import utcnow
from services.ingest.complaints import service as complaints
from services.ingest.complaints.router import COMPLAINTS_ROUTE
from services.ingest.idempotency.http import REPLAYED_HEADER, RETRY_AFTER_SECONDS
from services.ingest.idempotency.repository import COMPLETED
from services.ingest.idempotency.service import HEADER, TTL, request_hash
from services.ingest.mentions.router import MENTIONS_ROUTE
from services.ingest.tests.builders import (
    assert_one_complaint_answered_twice,
    complaint,
    count,
    mention,
    post_complaint,
    serve_ingest,
    settings_for,
)
from tests.builders import Tenant
from tests.fixtures.servers import Servers


async def test_same_key_and_body_replays_the_first_answer(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    first = await post_complaint(client, tenant, complaint(), key="retry-1")
    # Same content, other key order: still the same request.
    reordered = dict(reversed(list(complaint().items())))
    again = await post_complaint(client, tenant, reordered, key="retry-1")
    assert first.status_code == 201 and REPLAYED_HEADER not in first.headers
    assert again.status_code == 201  # the stored status, not the 200 of a duplicate
    assert again.headers[REPLAYED_HEADER] == "true"
    await assert_one_complaint_answered_twice(first, again, sessions, redis)


async def test_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await post_complaint(client, tenant, complaint(), key="k-422")
    other = await post_complaint(client, tenant, complaint(text="另一件事"), key="k-422")
    assert other.status_code == 422
    assert other.headers["content-type"].startswith("application/problem+json")
    assert other.json()["errors"][0]["field"] == HEADER
    assert await count(sessions, Complaint) == 1


async def test_a_retry_while_the_first_is_in_progress_gets_409(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    raw = orjson.dumps(complaint())
    now = utcnow()
    async with transaction(sessions) as session:
        session.add(
            IdempotencyRecord(
                organization_id=tenant.org.id,
                key="k-busy",
                route=COMPLAINTS_ROUTE,
                request_hash=request_hash(COMPLAINTS_ROUTE, raw),
                created_at=now,
                expires_at=now + TTL,
            )
        )
    response = await client.post(
        "/v1/complaints", content=raw, headers={**tenant.auth(Role.INGEST), HEADER: "k-busy"}
    )
    assert response.status_code == 409
    assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
    assert response.json()["errors"][0]["field"] == HEADER
    assert await count(sessions, Complaint) == 0


async def test_concurrent_duplicates_store_one_complaint(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    responses = await asyncio.gather(
        *(post_complaint(client, tenant, complaint(), key="k-race") for _ in range(5))
    )
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    assert {r.json()["id"] for r in responses if r.status_code == 201} != set()
    assert len({r.json()["id"] for r in responses if r.status_code == 201}) == 1
    assert await count(sessions, Complaint) == 1


async def test_a_failed_first_attempt_releases_the_key(
    servers: Servers,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_create = complaints.create_complaint
    calls = 0

    async def failing_once(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return await real_create(*args, **kwargs)

    monkeypatch.setattr(complaints, "create_complaint", failing_once)
    async with serve_ingest(settings_for(servers, data_key=data_key_text)) as client:
        failed = await post_complaint(client, tenant, complaint(), key="k-fail")
        assert failed.status_code == 500
        assert await count(sessions, IdempotencyRecord) == 0
        retried = await post_complaint(client, tenant, complaint(), key="k-fail")
    assert retried.status_code == 201
    assert REPLAYED_HEADER not in retried.headers
    assert calls == 2
    assert await count(sessions, Complaint) == 1


async def test_an_expired_key_can_be_used_again(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await post_complaint(client, tenant, complaint(), key="k-old")
    async with sessions() as session:
        record = await session.get(IdempotencyRecord, (tenant.org.id, "k-old"))
    assert record is not None and record.status == COMPLETED
    assert record.expires_at - record.created_at == timedelta(hours=24)
    # A day later: the record is past its expiry.
    async with transaction(sessions) as session:
        await session.exec(
            update(IdempotencyRecord)
            .where(col(IdempotencyRecord.key) == "k-old")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    reused = await post_complaint(client, tenant, complaint(text="第二天的新投诉"), key="k-old")
    assert reused.status_code == 201
    assert reused.json()["id"] != first.json()["id"]
    assert await count(sessions, Complaint) == 2


@pytest.mark.parametrize("key", [b"", b"x" * 256, "schlüssel".encode(), b"tab\there"])
async def test_malformed_idempotency_key_is_refused(
    client: httpx.AsyncClient, tenant: Tenant, key: bytes
) -> None:
    response = await client.post(
        "/v1/complaints",
        content=orjson.dumps(complaint()),
        headers=[
            *((name.encode(), value.encode()) for name, value in tenant.auth(Role.INGEST).items()),
            (HEADER.encode(), key),
        ],
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == HEADER


async def test_mentions_honour_the_key_too(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    headers = {**tenant.auth(Role.INGEST), HEADER: "batch-7"}
    first = await client.post("/v1/mentions", json={"mentions": [mention("m-1")]}, headers=headers)
    again = await client.post("/v1/mentions", json={"mentions": [mention("m-1")]}, headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers[REPLAYED_HEADER] == "true"
    # A replay answers `accepted` again; a plain resend would have said `duplicate`.
    assert again.json() == first.json()
    assert again.json()["results"][0]["status"] == "accepted"
    changed = await client.post(
        "/v1/mentions", json={"mentions": [mention("m-2")]}, headers=headers
    )
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == HEADER
    assert await count(sessions, Mention) == 1
    assert await redis.zcard(ANALYSIS_QUEUE) == 1


async def test_a_key_used_on_one_route_is_refused_on_another(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.auth(Role.INGEST), HEADER: "k-" + uuid.uuid4().hex}
    posted = await client.post("/v1/mentions", json={"mentions": [mention()]}, headers=headers)
    assert posted.status_code == 202
    complaint_body = {"customer_ref": "C-1", "channel": "app", "text": "无法退款"}
    refused = await client.post("/v1/complaints", json=complaint_body, headers=headers)
    assert refused.status_code == 422
    assert MENTIONS_ROUTE in refused.json()["detail"]
