"""The reconciler's tries: newest first, a back-off per mention, stable ids, a reasoned give-up.

Each test stores its mentions in a far future, so rows other tests leave behind are older
and never crowd ours out of a pass, and looks only at its own organization's
announcements; every session is rolled back.
"""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import MentionIngested
from libs.contracts.outcome import Outcome
from libs.database.tables import MentionFailure, Organization
from libs.database.tables._types import utcnow
from libs.database.unanalysed import CHECK_MARGIN
from services.ingest import repository, service
from services.ingest.tests.builders import make_analysis, store_mentions, stored_at


async def _stored(
    session: AsyncSession, organization: uuid.UUID, ages: dict[str, timedelta], now: datetime
) -> dict[str, uuid.UUID]:
    ids = dict(zip(ages, await store_mentions(session, organization, *ages), strict=True))
    for name, age in ages.items():
        await stored_at(session, ids[name], now - age)
    await session.flush()
    return ids


async def _row(session: AsyncSession, mention_id: uuid.UUID) -> MentionFailure | None:
    session.expire_all()
    return (
        await session.exec(
            select(MentionFailure).where(col(MentionFailure.mention_id) == mention_id)
        )
    ).first()


def _ours(outcome: Outcome, organization: uuid.UUID) -> list[MentionIngested]:
    """The outcome's announcements for `organization`: tests that commit leave others' rows."""
    return [
        m
        for m in outcome.messages
        if isinstance(m, MentionIngested) and m.organization_id == organization
    ]


async def test_a_pass_takes_the_newest_first_and_says_why_on_each_row(
    session: AsyncSession, organization: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow() + timedelta(days=3650)
    ages = {
        "oldest": timedelta(days=3),
        "older": timedelta(hours=1),
        "newest": timedelta(minutes=2),
    }
    ids = await _stored(session, organization, ages, now)
    monkeypatch.setattr(service, "REQUEUE_LIMIT", 2)

    first = await service.requeue_unanalysed(session, now)
    assert [m.mention_ids for m in _ours(first, organization)] == [[ids["newest"], ids["older"]]]
    row = await _row(session, ids["newest"])
    assert row is not None and row.tries == 1 and row.given_up_at is None
    assert row.reason == "not analysed 120 s after it was stored"

    # The two just tried wait their back-off, so the next pass reaches the oldest.
    second = await service.requeue_unanalysed(session, now + timedelta(seconds=5))
    assert [m.mention_ids for m in _ours(second, organization)] == [[ids["oldest"]]]


async def test_each_mention_waits_longer_after_each_try(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    now = utcnow() + timedelta(days=3650)
    lost = (await _stored(session, organization, {"lost": timedelta(minutes=2)}, now))["lost"]

    tried_at = [now]
    await service.requeue_unanalysed(session, now)
    for tries in (1, 2, 3, 4):
        wait = service.retry_after(tries)
        assert wait == timedelta(minutes=2 ** (tries - 1))
        early = await service.requeue_unanalysed(
            session, tried_at[-1] + wait - timedelta(seconds=1)
        )
        assert _ours(early, organization) == [], f"re-sent before try {tries}'s back-off"
        at = tried_at[-1] + wait
        due = await service.requeue_unanalysed(session, at)
        assert [m.mention_ids for m in _ours(due, organization)] == [[lost]]
        tried_at.append(at)
    row = await _row(session, lost)
    assert row is not None and row.tries == 5 and row.last_failed_at == tried_at[-1]
    assert service.retry_after(100) == service.RETRY_CAP


async def test_the_same_resend_has_the_same_id_and_is_counted_once(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    now = utcnow() + timedelta(days=3650)
    ids = await _stored(
        session, organization, {"a": timedelta(minutes=3), "b": timedelta(minutes=4)}, now
    )

    # Two passes that read the same rows (a pass retried, another replica) send one id.
    savepoint = await session.begin_nested()
    one = _ours(await service.requeue_unanalysed(session, now), organization)
    await savepoint.rollback()
    other = _ours(await service.requeue_unanalysed(session, now), organization)
    assert [m.message_id for m in one] == [m.message_id for m in other]
    assert len(one) == 1 and set(one[0].mention_ids) == set(ids.values())

    # A replica counting the same try again, from the same read, counts and sends nothing.
    again = [
        repository.TryRow(
            mention_id=mention_id,
            organization_id=organization,
            tries=1,
            reason="not analysed",
            first_failed_at=now,
            last_failed_at=now,
        )
        for mention_id in ids.values()
    ]
    assert await repository.count_tries(session, again) == set()

    # The next try is a new re-send under a new id.
    later = _ours(
        await service.requeue_unanalysed(session, now + timedelta(minutes=1)), organization
    )
    assert len(later) == 1 and later[0].message_id != one[0].message_id


async def test_a_mention_never_analysed_is_given_up_after_about_three_days_with_its_reason(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    stored = utcnow() + timedelta(days=3650)
    lost = (await _stored(session, organization, {"lost": timedelta(0)}, stored))["lost"]

    # Each pass runs when the mention is next due, as the reconciler's minutely passes would.
    at, sends = stored + service.GRACE + timedelta(seconds=1), 0
    while True:
        outcome = _ours(await service.requeue_unanalysed(session, at), organization)
        row = await _row(session, lost)
        assert row is not None
        if row.given_up_at is not None:
            break
        assert [m.mention_ids for m in outcome] == [[lost]]
        sends += 1
        at = row.last_failed_at + service.retry_after(row.tries) + timedelta(seconds=1)
    assert outcome == [] and sends == service.MAX_TRIES == row.tries
    # Not within hours of an outage: about as long as a queued job waits one out.
    assert timedelta(days=3) < row.given_up_at - stored < timedelta(days=3.5)
    assert row.reason.startswith(f"given up after {service.MAX_TRIES} tries: not analysed ")

    # Given up is not gone: the row stays, and no pass sends the mention again.
    much_later = await service.requeue_unanalysed(session, at + timedelta(days=30))
    assert _ours(much_later, organization) == []
    assert await _row(session, lost) is not None


async def test_rows_of_mentions_analysed_since_are_forgotten(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    now = utcnow() + timedelta(days=3650)
    ids = await _stored(
        session, organization, {"done": timedelta(minutes=3), "lost": timedelta(minutes=3)}, now
    )
    await service.reconcile(session, now)
    make_analysis(session, organization, ids["done"])
    await session.flush()

    await service.reconcile(session, now + timedelta(seconds=1))
    assert await _row(session, ids["done"]) is None
    assert await _row(session, ids["lost"]) is not None


async def test_redriving_restarts_the_tries_and_announces_again(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    now = utcnow() + timedelta(days=3650)
    ids = await _stored(
        session, organization, {"spent": timedelta(days=4), "retried": timedelta(days=4)}, now
    )
    for mention_id, given_up in ((ids["spent"], True), (ids["retried"], False)):
        session.add(
            MentionFailure(
                mention_id=mention_id,
                organization_id=organization,
                tries=service.MAX_TRIES,
                reason="ValueError: bad",
                first_failed_at=now - timedelta(days=3),
                last_failed_at=now - timedelta(hours=1),
                given_up_at=now - timedelta(hours=1) if given_up else None,
            )
        )
    await session.flush()

    outcome = await service.redrive_failed(session, None, now)
    assert [m.mention_ids for m in _ours(outcome, organization)] == [[ids["spent"]]]
    row = await _row(session, ids["spent"])
    assert row is not None and row.tries == 0 and row.given_up_at is None
    assert row.reason == "ValueError: bad"
    # Its count restarted: a minute on, the reconciler sends it again under a new id.
    again = _ours(
        await service.requeue_unanalysed(session, now + timedelta(minutes=1)), organization
    )
    assert [m.mention_ids for m in again] == [[ids["spent"]]]


async def test_a_complete_pass_marks_the_organization_and_the_next_reads_on_from_there(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    # Real time: the mark never passes the database's clock less the grace. Each pass reads
    # its own organization, so other tests' rows cannot crowd this one's out.
    now = utcnow()
    lost = (await _stored(session, organization, {"lost": timedelta(minutes=5)}, now))["lost"]
    first = await service.requeue_unanalysed(session, now)
    assert [m.mention_ids for m in _ours(first, organization)] == [[lost]]
    marked = await session.get(Organization, organization, populate_existing=True)
    checked = min(now, await repository.transaction_time(session)) - service.GRACE
    assert marked is not None and marked.unanalysed_checked_until == checked

    # Stored in the margin before the mark (a transaction that committed late): read again.
    # Stored before the margin: every pass since would have found it, so it is not read.
    edge = now - checked + CHECK_MARGIN
    ids = await _stored(
        session,
        organization,
        {"late": edge - timedelta(seconds=1), "behind": edge + timedelta(seconds=1)},
        now,
    )
    second = await service.requeue_unanalysed(session, now + timedelta(seconds=1))
    assert [m.mention_ids for m in _ours(second, organization)] == [[ids["late"]]]


async def test_a_replica_whose_clock_runs_ahead_cannot_mark_past_the_database(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    await service.requeue_unanalysed(session, utcnow() + timedelta(hours=1))
    marked = await session.get(Organization, organization, populate_existing=True)
    database_now = await repository.transaction_time(session)
    assert marked is not None and marked.unanalysed_checked_until is not None
    assert marked.unanalysed_checked_until <= database_now - service.GRACE


async def test_an_organization_with_more_than_a_pass_takes_keeps_its_mark(
    session: AsyncSession, organization: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = utcnow() + timedelta(days=3650)
    await _stored(
        session, organization, {"a": timedelta(minutes=3), "b": timedelta(minutes=4)}, now
    )
    monkeypatch.setattr(service, "REQUEUE_LIMIT", 1)
    await service.requeue_unanalysed(session, now)
    unmarked = await session.get(Organization, organization, populate_existing=True)
    assert unmarked is not None and unmarked.unanalysed_checked_until is None
    await service.requeue_unanalysed(session, now + timedelta(seconds=1))  # finds "b"
    await service.requeue_unanalysed(session, now + timedelta(seconds=2))  # finds nothing new
    marked = await session.get(Organization, organization, populate_existing=True)
    assert marked is not None and marked.unanalysed_checked_until is not None
