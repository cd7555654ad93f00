"""The `Idempotency-Key` records: claims, replays, expiry, and the key on `POST /v1/mentions`."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
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
from libs.database.tables import IdempotencyRecord, Mention
from libs.settings import Settings
from services.ingest import idempotency
from services.ingest.app import COMPLAINTS_ROUTE, MENTIONS_ROUTE, create_app
from services.ingest.idempotency import Claim, Existing
from services.ingest.problems import ProblemError
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers

T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
ROUTE = COMPLAINTS_ROUTE


@pytest_asyncio.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    return await make_tenant(sessions)


@pytest_asyncio.fixture
async def client(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database_url=servers.database_url, redis_url=servers.redis_url))
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as http:
        yield http


def test_the_hash_ignores_key_order_and_spacing_but_not_content_or_route() -> None:
    base = idempotency.request_hash(ROUTE, b'{"a": 1, "b": [1, 2]}')
    assert idempotency.request_hash(ROUTE, b'{"b":[1,2],"a":1}') == base
    assert idempotency.request_hash(ROUTE, b'{"a": 1, "b": [2, 1]}') != base
    assert idempotency.request_hash(MENTIONS_ROUTE, b'{"a": 1, "b": [1, 2]}') != base
    assert idempotency.request_hash(ROUTE, b"{not json") != idempotency.request_hash(
        ROUTE, b"{not  json"
    )


@pytest.mark.parametrize("key", ["a", "x" * 255, "9f1c-ORDER/2026:11 #7"])
def test_keys_of_printable_ascii_up_to_255_are_accepted(key: str) -> None:
    assert idempotency.check_key(key) == key
    assert idempotency.check_key(None) is None


@pytest.mark.parametrize("key", ["", "x" * 256, "订单-1", "line\nbreak"])
def test_other_keys_are_refused_naming_the_header(key: str) -> None:
    with pytest.raises(ProblemError) as raised:
        idempotency.check_key(key)
    assert raised.value.problem.status == 422
    assert raised.value.problem.errors[0].field == "Idempotency-Key"


async def claim_at(
    sessions: async_sessionmaker[AsyncSession],
    tenant: Tenant,
    now: datetime,
    hashed: str = "h1",
    key: str = "k",
) -> Claim | Existing:
    return await idempotency.claim(sessions, tenant.org.id, key, ROUTE, hashed, now)


async def test_a_key_is_claimed_once_then_completed_and_remembered_for_a_day(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    held = await claim_at(sessions, tenant, T0)
    assert isinstance(held, Claim)
    busy = await claim_at(sessions, tenant, T0 + timedelta(seconds=1))
    assert isinstance(busy, Existing) and busy.status == idempotency.IN_PROGRESS

    await idempotency.complete(sessions, held, 201, {"id": "c1"})
    done = await claim_at(sessions, tenant, T0 + timedelta(hours=23, minutes=59))
    assert isinstance(done, Existing)
    assert (done.status, done.response_status, done.response_body) == (
        idempotency.COMPLETED,
        201,
        {"id": "c1"},
    )
    # Another body under a live key is reported, not taken over.
    other = await claim_at(sessions, tenant, T0 + timedelta(hours=1), hashed="h2")
    assert isinstance(other, Existing) and other.request_hash == "h1"

    expired = await claim_at(sessions, tenant, T0 + timedelta(hours=24), hashed="h2")
    assert isinstance(expired, Claim)
    async with sessions() as session:
        record = await session.get(IdempotencyRecord, (tenant.org.id, "k"))
    assert record is not None
    assert (record.request_hash, record.status, record.response_body) == (
        "h2",
        idempotency.IN_PROGRESS,
        None,
    )
    assert record.expires_at == T0 + timedelta(hours=48)


async def test_a_claim_abandoned_by_a_dead_process_is_taken_over_by_the_same_request(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    assert isinstance(await claim_at(sessions, tenant, T0), Claim)
    later = T0 + idempotency.STALE_CLAIM
    other_body = await claim_at(sessions, tenant, later, hashed="h2")
    assert isinstance(other_body, Existing)
    assert isinstance(await claim_at(sessions, tenant, later), Claim)


async def test_a_released_claim_frees_the_key(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    held = await claim_at(sessions, tenant, T0)
    assert isinstance(held, Claim)
    await idempotency.release(sessions, held)
    again = await claim_at(sessions, tenant, T0 + timedelta(seconds=1), hashed="h2")
    assert isinstance(again, Claim)


async def test_release_never_drops_a_completed_answer(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    held = await claim_at(sessions, tenant, T0)
    assert isinstance(held, Claim)
    await idempotency.complete(sessions, held, 202, {"ok": True})
    await idempotency.release(sessions, held)
    assert isinstance(await claim_at(sessions, tenant, T0), Existing)


async def test_keys_belong_to_one_organization(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    other = await make_tenant(sessions, "other")
    assert isinstance(await claim_at(sessions, tenant, T0), Claim)
    assert isinstance(await claim_at(sessions, other, T0, hashed="h2"), Claim)


async def test_purge_deletes_only_expired_records(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant
) -> None:
    await claim_at(sessions, tenant, T0, key="old")
    await claim_at(sessions, tenant, T0 + timedelta(hours=12), key="young")
    purged = await idempotency.purge_expired(sessions, T0 + timedelta(hours=24))
    assert purged == 1
    async with sessions() as session:
        keys = (await session.exec(select(IdempotencyRecord.key))).all()  # type: ignore[call-overload]
    assert [row[0] for row in keys] == ["young"]


def batch(external_id: str = "m-1") -> dict[str, Any]:
    return {
        "mentions": [
            {
                "source": "weibo",
                "external_id": external_id,
                "text": "禾元奶粉有问题",
                "posted_at": "2026-11-21T08:00:00+08:00",
                "author": {"handle": "小林"},
            }
        ]
    }


async def test_mentions_honour_the_key_too(
    client: httpx.AsyncClient,
    tenant: Tenant,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
) -> None:
    headers = {**tenant.auth(Role.INGEST), "Idempotency-Key": "batch-7"}
    first = await client.post("/v1/mentions", json=batch(), headers=headers)
    again = await client.post("/v1/mentions", json=batch(), headers=headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.headers[idempotency.REPLAYED_HEADER] == "true"
    # A replay answers `accepted` again; a plain resend would have said `duplicate`.
    assert again.json() == first.json()
    assert again.json()["results"][0]["status"] == "accepted"
    changed = await client.post("/v1/mentions", json=batch("m-2"), headers=headers)
    assert changed.status_code == 422
    assert changed.json()["errors"][0]["field"] == "Idempotency-Key"
    async with sessions() as session:
        mentions = (await session.exec(select(func.count()).select_from(Mention))).one()  # type: ignore[call-overload]
    assert mentions[0] == 1
    assert await redis.zcard(ANALYSIS_QUEUE) == 1


async def test_a_key_used_on_one_route_is_refused_on_another(
    client: httpx.AsyncClient, tenant: Tenant
) -> None:
    headers = {**tenant.auth(Role.INGEST), "Idempotency-Key": "k-" + uuid.uuid4().hex}
    assert (await client.post("/v1/mentions", json=batch(), headers=headers)).status_code == 202
    complaint = {"customer_ref": "C-1", "channel": "app", "text": "无法退款"}
    refused = await client.post("/v1/complaints", json=complaint, headers=headers)
    assert refused.status_code == 422
    assert MENTIONS_ROUTE in refused.json()["detail"]
