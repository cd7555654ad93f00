"""Every risk signal incidents applies leaves one applied mark, whatever it did.

A timeline names only the signals that changed an incident; a fall of a crisis tier (red to
orange) is a stored crisis signal that no `opened`, `signal` or `tier_changed` event names,
and one of a watchlist with no incident of its own is on no timeline at all. The mark, not
the timeline, says a stored signal was applied.
"""

import uuid
from datetime import datetime, timedelta

import pytest
from arq.connections import ArqRedis
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.contracts.response import SnoozeWatchlist
from libs.database.engine import transaction
from libs.database.tables import AppliedSignal, RiskSignal, TimelineEvent
from libs.messaging.sweep import Sweep
from services.incidents.signals import snooze
from services.incidents.signals.applied import HowApplied
from services.incidents.signals.service import REOPEN_WINDOW, SNOOZE_ENDS, apply_signal
from services.incidents.tests.builders import (
    DETECTED_AT,
    NOW,
    STORY,
    apply,
    deliver,
    force,
    forget_delivery,
    incidents_of,
    make_fall,
    make_signal,
    make_watchlist,
    open_incident,
    run,
)
from tests.builders import Sessions, read_all
from tests.fixtures.servers import Servers

CRISIS = (Tier.YELLOW.value, Tier.ORANGE.value, Tier.RED.value)
# The timeline kinds that record a rise: once the only test of "applied".
RISE_KINDS = ("opened", "signal", "tier_changed")


async def _mark(sessions: Sessions, signal_id: uuid.UUID) -> AppliedSignal | None:
    async with sessions() as session:
        return await session.get(AppliedSignal, signal_id)


async def _marks(sessions: Sessions, organization_id: uuid.UUID) -> list[AppliedSignal]:
    query = select(AppliedSignal).where(AppliedSignal.organization_id == organization_id)
    return await read_all(sessions, query)


async def _unapplied(sessions: Sessions, organization_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the organization's stored crisis signals without an applied mark."""
    marked = select(AppliedSignal.signal_id).where(
        col(AppliedSignal.signal_id) == col(RiskSignal.id)
    )
    query = select(RiskSignal.id).where(
        RiskSignal.organization_id == organization_id,
        col(RiskSignal.tier).in_(CRISIS),
        ~marked.exists(),
    )
    return await read_all(sessions, query)


async def _named_by_a_rise(sessions: Sessions, signal_id: uuid.UUID) -> bool:
    query = select(TimelineEvent.id).where(
        col(TimelineEvent.kind).in_(RISE_KINDS),
        TimelineEvent.data["signal_id"].astext == str(signal_id),
    )
    return bool(await read_all(sessions, query))


async def test_each_rise_is_marked_with_what_it_did_and_where(rolled_back: Sessions) -> None:
    milk = await make_watchlist(rolled_back)
    rice = await make_watchlist(rolled_back, milk.organization_id, "米粉")
    yellow = await make_signal(rolled_back, milk, Tier.YELLOW, story_id=STORY)
    await apply(rolled_back, yellow, now=NOW)
    [incident] = await incidents_of(rolled_back, milk)
    again = await make_signal(rolled_back, milk, Tier.YELLOW)
    await apply(rolled_back, again, now=NOW)
    # Another watchlist's signal of the same story joins and raises the story's incident.
    story = await make_signal(rolled_back, rice, Tier.ORANGE, story_id=STORY)
    await apply(rolled_back, story, now=NOW)

    marks = {m.signal_id: m for m in await _marks(rolled_back, milk.organization_id)}
    assert {s: (m.outcome, m.incident_id) for s, m in marks.items()} == {
        yellow.signal_id: (HowApplied.OPENED, incident.id),
        again.signal_id: (HowApplied.JOINED, incident.id),
        story.signal_id: (HowApplied.RAISED, incident.id),
    }
    assert marks[story.signal_id].applied_at == NOW
    assert await incidents_of(rolled_back, rice) == []
    assert await _unapplied(rolled_back, milk.organization_id) == []


async def test_a_signal_not_applied_yet_has_no_mark(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back)
    waiting = await make_signal(rolled_back, watchlist, Tier.RED)

    assert await _mark(rolled_back, waiting.signal_id) is None
    assert await _unapplied(rolled_back, watchlist.organization_id) == [waiting.signal_id]


async def test_a_reopening_is_marked_though_only_a_status_change_names_it(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await open_incident(rolled_back, watchlist, Tier.ORANGE)
    await force(rolled_back, incident, status="resolved", resolved_at=NOW)
    flare_at = NOW + REOPEN_WINDOW
    flare = await make_signal(rolled_back, watchlist, Tier.YELLOW, detected_at=flare_at)

    await apply(rolled_back, flare, now=flare_at)

    mark = await _mark(rolled_back, flare.signal_id)
    assert mark is not None and (mark.outcome, mark.incident_id) == ("reopened", incident.id)
    assert not await _named_by_a_rise(rolled_back, flare.signal_id)


def _snooze(
    watchlist_id: uuid.UUID, organization_id: uuid.UUID, until: datetime
) -> SnoozeWatchlist:
    return SnoozeWatchlist(
        organization_id=organization_id,
        actor="key-admin",
        watchlist_id=watchlist_id,
        until=until,
        reason="新品发布会期间声量正常偏高",
    )


async def test_a_held_crisis_is_marked_held_then_what_its_release_did(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    until = NOW + timedelta(hours=1)
    snoozing = _snooze(watchlist.id, watchlist.organization_id, until)
    result, _ = await run(sessions, snooze.snooze_watchlist, snoozing, now=NOW)
    assert result.ok
    held = await make_signal(sessions, watchlist, Tier.RED, detected_at=NOW + timedelta(minutes=5))

    await apply(sessions, held, now=NOW + timedelta(minutes=5))

    mark = await _mark(sessions, held.signal_id)
    assert mark is not None and (mark.outcome, mark.incident_id) == ("held", None)
    assert await incidents_of(sessions, watchlist) == []
    assert await _unapplied(sessions, watchlist.organization_id) == []

    after = until + timedelta(minutes=1)
    ends = Sweep(SNOOZE_ENDS, sessions, redis, FixedClock(after), interval=60.0, producer="t")
    assert await ends.run_once() == 1

    [incident] = await incidents_of(sessions, watchlist)
    mark = await _mark(sessions, held.signal_id)
    assert mark is not None
    assert (mark.outcome, mark.incident_id, mark.applied_at) == ("opened", incident.id, after)


async def test_a_fall_to_a_crisis_tier_is_applied_though_no_rise_names_it(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    await deliver(redis, servers, await make_signal(sessions, watchlist, Tier.RED))
    [incident] = await incidents_of(sessions, watchlist)
    fall = await make_fall(
        sessions, watchlist, Tier.RED, Tier.ORANGE, detected_at=DETECTED_AT + timedelta(minutes=9)
    )

    await deliver(redis, servers, fall)
    # Redelivered after Redis forgot the job: still one mark, from the first application.
    first = await _mark(sessions, fall.signal_id)
    await forget_delivery(redis, fall)
    await deliver(redis, servers, fall)

    # A stored orange signal that no `opened`, `signal` or `tier_changed` event names: the
    # fault drill once counted such a signal as unapplied (docs/reliability.md, finding 9).
    assert not await _named_by_a_rise(sessions, fall.signal_id)
    mark = await _mark(sessions, fall.signal_id)
    assert mark is not None and (mark.outcome, mark.incident_id) == ("fell", incident.id)
    assert first is not None and mark.applied_at == first.applied_at
    assert await _unapplied(sessions, watchlist.organization_id) == []


async def test_a_fall_of_a_watchlist_without_an_incident_is_applied_on_no_timeline(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    milk = await make_watchlist(sessions)
    rice = await make_watchlist(sessions, milk.organization_id, "米粉")
    await deliver(redis, servers, await make_signal(sessions, milk, Tier.YELLOW, story_id=STORY))
    # Rice's crisis joins milk's incident through the story; rice has no incident of its own.
    await deliver(redis, servers, await make_signal(sessions, rice, Tier.RED, story_id=STORY))
    fall = await make_fall(sessions, rice, Tier.RED, Tier.ORANGE)

    await deliver(redis, servers, fall)

    assert await incidents_of(sessions, rice) == []
    on_timeline = select(TimelineEvent.id).where(
        TimelineEvent.data["signal_id"].astext == str(fall.signal_id)
    )
    assert await read_all(sessions, on_timeline) == []
    mark = await _mark(sessions, fall.signal_id)
    assert mark is not None and (mark.outcome, mark.incident_id) == ("fell", None)
    assert await _unapplied(sessions, milk.organization_id) == []


async def test_a_signal_whose_application_rolls_back_leaves_no_mark(
    sessions: Sessions,
) -> None:
    watchlist = await make_watchlist(sessions)
    signal = await make_signal(sessions, watchlist, Tier.ORANGE)

    # The worker failed after applying it (an outage before the commit): nothing stays.
    with pytest.raises(ConnectionError):
        async with transaction(sessions) as session:
            await apply_signal(session, signal, clock=FixedClock(NOW))
            raise ConnectionError("PostgreSQL went away before the commit")

    assert await _mark(sessions, signal.signal_id) is None
    assert await incidents_of(sessions, watchlist) == []
    assert await _unapplied(sessions, watchlist.organization_id) == [signal.signal_id]
