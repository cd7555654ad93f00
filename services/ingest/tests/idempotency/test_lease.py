"""A claim lives as long as its request: a crashed request's claim lapses in seconds.

Over HTTP against real PostgreSQL and Redis. A killed process leaves its claim exactly as a
row `in_progress`, which is how these tests leave it.
"""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Role
from libs.database.engine import transaction
from libs.database.tables import Complaint, IdempotencyRecord, Mention
from libs.database.tables._types import utcnow
from services.ingest.complaints import service as complaints
from services.ingest.idempotency import http
from services.ingest.idempotency.http import REPLAYED_HEADER
from services.ingest.idempotency.repository import COMPLETED, IN_PROGRESS
from services.ingest.idempotency.service import HEADER, TTL, request_hash
from services.ingest.mentions.router import MENTIONS_ROUTE
from services.ingest.problems import PROBLEM_JSON
from services.ingest.tests.builders import complaint, count, mention, post_complaint
from tests.builders import Tenant


async def leave_claim(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, key: str, raw: bytes, at: datetime
) -> None:
    """Leave the claim a request on `/v1/mentions` made at `at` and never finished."""
    async with transaction(sessions) as session:
        session.add(
            IdempotencyRecord(
                organization_id=tenant.org.id,
                key=key,
                route=MENTIONS_ROUTE,
                request_hash=request_hash(MENTIONS_ROUTE, raw),
                status=IN_PROGRESS,
                created_at=at,
                expires_at=at + TTL,
            )
        )


async def test_a_claim_left_by_a_killed_request_is_taken_over_half_a_minute_later(
    client: httpx.AsyncClient, tenant: Tenant, sessions: async_sessionmaker[AsyncSession]
) -> None:
    raw = orjson.dumps({"mentions": [mention("cut-short")]})
    headers = tenant.auth(Role.INGEST) | {"Content-Type": "application/json"}

    # Ten seconds old: its request may still run, so a resend waits.
    await leave_claim(sessions, tenant, "batch-young", raw, utcnow() - timedelta(seconds=10))
    young_headers = {**headers, HEADER: "batch-young"}
    young = await client.post("/v1/mentions", content=raw, headers=young_headers)
    assert young.status_code == 409
    assert young.headers["retry-after"] == "1"

    # Over half a minute old: no request runs that long, so the resend runs for real.
    await leave_claim(sessions, tenant, "batch-killed", raw, utcnow() - timedelta(seconds=31))
    headers[HEADER] = "batch-killed"
    resent = await client.post("/v1/mentions", content=raw, headers=headers)
    assert resent.status_code == 202, resent.text
    assert REPLAYED_HEADER not in resent.headers
    assert resent.json()["results"][0]["status"] == "accepted"
    assert await count(sessions, Mention) == 1

    # Its answer is the one the key keeps from now on.
    again = await client.post("/v1/mentions", content=raw, headers=headers)
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == resent.json()
    async with sessions() as session:
        record = await session.get(IdempotencyRecord, (tenant.org.id, "batch-killed"))
    assert record is not None and record.status == COMPLETED


async def test_a_duplicate_of_a_live_request_gets_409_until_it_answers(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_create = complaints.create_complaint
    working = asyncio.Event()
    finish = asyncio.Event()

    async def held_open(*args: Any, **kwargs: Any) -> Any:
        working.set()
        await finish.wait()
        return await real_create(*args, **kwargs)

    monkeypatch.setattr(complaints, "create_complaint", held_open)
    first = asyncio.create_task(post_complaint(client, tenant, complaint(), key="k-live"))
    await asyncio.wait_for(working.wait(), 10)
    duplicate = await post_complaint(client, tenant, complaint(), key="k-live")
    assert duplicate.status_code == 409
    finish.set()
    assert (await first).status_code == 201
    assert await count(sessions, Complaint) == 1


async def test_a_request_past_its_deadline_answers_503_and_frees_its_key(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_create = complaints.create_complaint
    monkeypatch.setattr(http, "REQUEST_DEADLINE", timedelta(seconds=1))

    async def slow(session: AsyncSession, *args: Any, **kwargs: Any) -> Any:
        # A statement PostgreSQL is slow to answer, not a sleep of the test's own.
        await session.exec(text("SELECT pg_sleep(30)"))  # type: ignore[call-overload]
        return await real_create(session, *args, **kwargs)

    monkeypatch.setattr(complaints, "create_complaint", slow)
    started = asyncio.get_running_loop().time()
    cut_off = await post_complaint(client, tenant, complaint(), key="k-slow")
    assert asyncio.get_running_loop().time() - started < 10
    assert cut_off.status_code == 503
    assert cut_off.headers["content-type"] == PROBLEM_JSON
    assert cut_off.headers["retry-after"] == "5"
    assert "did not finish within 1 s" in cut_off.json()["detail"]
    assert await count(sessions, IdempotencyRecord) == 0  # released: a resend need not wait

    monkeypatch.setattr(complaints, "create_complaint", real_create)
    resent = await post_complaint(client, tenant, complaint(), key="k-slow")
    assert resent.status_code == 201, resent.text
    assert await count(sessions, Complaint) == 1
    async with sessions() as session:
        sleeping = await session.exec(  # type: ignore[call-overload]
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE state = 'active' AND query = 'SELECT pg_sleep(30)'"
            )
        )
        assert sleeping.scalar_one() == 0  # the cut-off statement was cancelled in PostgreSQL
