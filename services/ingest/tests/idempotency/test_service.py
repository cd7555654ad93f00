"""Claims on an `Idempotency-Key`: taken, replayed, released, expired, on a rolled-back session."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IdempotencyRecord
from services.ingest.complaints.router import COMPLAINTS_ROUTE
from services.ingest.idempotency import repository, service
from services.ingest.idempotency.repository import COMPLETED, IN_PROGRESS
from services.ingest.idempotency.service import Claim, Existing
from services.ingest.mentions.router import MENTIONS_ROUTE
from services.ingest.problems import ProblemError
from services.ingest.tests.builders import make_organization

# Before any test run, so no record a truncating test leaves behind has expired by then.
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
ROUTE = COMPLAINTS_ROUTE


def test_the_hash_ignores_key_order_and_spacing_but_not_content_or_route() -> None:
    base = service.request_hash(ROUTE, b'{"a": 1, "b": [1, 2]}')
    assert service.request_hash(ROUTE, b'{"b":[1,2],"a":1}') == base
    assert service.request_hash(ROUTE, b'{"a": 1, "b": [2, 1]}') != base
    assert service.request_hash(MENTIONS_ROUTE, b'{"a": 1, "b": [1, 2]}') != base
    assert service.request_hash(ROUTE, b"{not json") != service.request_hash(ROUTE, b"{not  json")


@pytest.mark.parametrize("key", ["a", "x" * 255, "9f1c-ORDER/2026:11 #7"])
def test_keys_of_printable_ascii_up_to_255_are_accepted(key: str) -> None:
    assert service.check_key(key) == key
    assert service.check_key(None) is None


@pytest.mark.parametrize("key", ["", "x" * 256, "订单-1", "line\nbreak"])
def test_other_keys_are_refused_naming_the_header(key: str) -> None:
    with pytest.raises(ProblemError) as raised:
        service.check_key(key)
    assert raised.value.problem.status == 422
    assert raised.value.problem.errors[0].field == "Idempotency-Key"


async def claim_at(
    sessions: async_sessionmaker[AsyncSession],
    organization: uuid.UUID,
    now: datetime,
    hashed: str = "h1",
    key: str = "k",
) -> Claim | Existing:
    return await service.claim(sessions, organization, key, ROUTE, hashed, now)


async def test_a_key_is_claimed_once_then_completed_and_remembered_for_a_day(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID
) -> None:
    held = await claim_at(rolled_back, organization, T0)
    assert isinstance(held, Claim)
    busy = await claim_at(rolled_back, organization, T0 + timedelta(seconds=1))
    assert isinstance(busy, Existing) and busy.status == IN_PROGRESS

    await service.complete(rolled_back, held, 201, {"id": "c1"})
    done = await claim_at(rolled_back, organization, T0 + timedelta(hours=23, minutes=59))
    assert isinstance(done, Existing)
    assert (done.status, done.response_status, done.response_body) == (
        COMPLETED,
        201,
        {"id": "c1"},
    )
    # Another body under a live key is reported, not taken over.
    other = await claim_at(rolled_back, organization, T0 + timedelta(hours=1), hashed="h2")
    assert isinstance(other, Existing) and other.request_hash == "h1"

    expired = await claim_at(rolled_back, organization, T0 + timedelta(hours=24), hashed="h2")
    assert isinstance(expired, Claim)
    async with rolled_back() as session:
        record = await session.get(IdempotencyRecord, (organization, "k"))
    assert record is not None
    assert (record.request_hash, record.status, record.response_body) == (
        "h2",
        IN_PROGRESS,
        None,
    )
    assert record.expires_at == T0 + timedelta(hours=48)


async def test_a_claim_abandoned_by_a_dead_process_is_taken_over_by_the_same_request(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID
) -> None:
    assert isinstance(await claim_at(rolled_back, organization, T0), Claim)
    live = await claim_at(rolled_back, organization, T0 + service.REQUEST_DEADLINE)
    assert isinstance(live, Existing)
    later = T0 + service.CLAIM_LEASE
    other_body = await claim_at(rolled_back, organization, later, hashed="h2")
    assert isinstance(other_body, Existing)
    assert isinstance(await claim_at(rolled_back, organization, later), Claim)


async def test_a_request_finishing_after_a_takeover_leaves_the_new_claim_alone(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID
) -> None:
    late = await claim_at(rolled_back, organization, T0)
    taken_over = await claim_at(rolled_back, organization, T0 + service.CLAIM_LEASE)
    assert isinstance(late, Claim) and isinstance(taken_over, Claim)

    await service.complete(rolled_back, late, 202, {"from": "late"})
    await service.release(rolled_back, late)
    async with rolled_back() as session:
        record = await session.get(IdempotencyRecord, (organization, "k"))
    assert record is not None
    assert (record.status, record.created_at) == (IN_PROGRESS, T0 + service.CLAIM_LEASE)

    await service.complete(rolled_back, taken_over, 202, {"from": "resend"})
    done = await claim_at(rolled_back, organization, T0 + service.CLAIM_LEASE * 3)
    assert isinstance(done, Existing) and done.response_body == {"from": "resend"}


async def test_a_released_claim_frees_the_key(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID
) -> None:
    held = await claim_at(rolled_back, organization, T0)
    assert isinstance(held, Claim)
    await service.release(rolled_back, held)
    again = await claim_at(rolled_back, organization, T0 + timedelta(seconds=1), hashed="h2")
    assert isinstance(again, Claim)


async def test_release_never_drops_a_completed_answer(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID
) -> None:
    held = await claim_at(rolled_back, organization, T0)
    assert isinstance(held, Claim)
    await service.complete(rolled_back, held, 202, {"ok": True})
    await service.release(rolled_back, held)
    assert isinstance(await claim_at(rolled_back, organization, T0), Existing)


async def test_keys_belong_to_one_organization(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID, session: AsyncSession
) -> None:
    other = await make_organization(session)
    assert isinstance(await claim_at(rolled_back, organization, T0), Claim)
    assert isinstance(await claim_at(rolled_back, other, T0, hashed="h2"), Claim)


async def test_purge_deletes_only_expired_records(
    rolled_back: async_sessionmaker[AsyncSession], organization: uuid.UUID, session: AsyncSession
) -> None:
    await claim_at(rolled_back, organization, T0, key="old")
    await claim_at(rolled_back, organization, T0 + timedelta(hours=12), key="young")
    purged = await repository.purge_expired(session, T0 + timedelta(hours=24))
    assert purged == 1
    keys = await session.exec(
        select(IdempotencyRecord.key).where(  # type: ignore[call-overload]
            col(IdempotencyRecord.organization_id) == organization
        )
    )
    assert [row[0] for row in keys] == ["young"]
