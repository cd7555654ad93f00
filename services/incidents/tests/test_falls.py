"""Falls and snooze ends through the real incidents worker: the timeline, the tier, held crises."""

import asyncio
from datetime import timedelta

from arq.connections import ArqRedis

from libs.clock import FixedClock
from libs.contracts.enums import EventType, IncidentStatus, Tier
from libs.contracts.messages import RiskTierFell
from libs.contracts.response import ChangeIncidentTier, SnoozeWatchlist
from libs.database.tables import Incident, Watchlist
from libs.messaging.sweep import Sweep
from services.incidents.signals.service import SNOOZE_ENDS
from services.incidents.tests.builders import (
    DETECTED_AT,
    command_about,
    deliver,
    events_of,
    force,
    forget_delivery,
    incidents_of,
    make_fall,
    make_signal,
    make_watchlist,
    reload,
    timeline_of,
)
from services.incidents.timeline import EventKind
from tests.builders import Sessions
from tests.fixtures.servers import Servers

FELL = EventKind.RISK_FELL.value


async def _red_incident(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> tuple[Watchlist, Incident]:
    watchlist = await make_watchlist(sessions)
    await deliver(redis, servers, await make_signal(sessions, watchlist, Tier.RED))
    [incident] = await incidents_of(sessions, watchlist)
    return watchlist, incident


def _snooze_ends(sessions: Sessions, redis: ArqRedis, clock: FixedClock) -> Sweep:
    return Sweep(SNOOZE_ENDS, sessions, redis, clock, interval=60.0, producer="incidents")


async def test_a_fall_reaches_the_timeline_once_and_the_tier_follows(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist, incident = await _red_incident(servers, sessions, redis)
    fall = await make_fall(
        sessions, watchlist, Tier.RED, Tier.ORANGE, detected_at=DETECTED_AT + timedelta(minutes=13)
    )

    await deliver(redis, servers, fall)
    # Redelivered after Redis forgot the job: the receipt, not arq, makes it a no-op.
    await forget_delivery(redis, fall)
    await deliver(redis, servers, fall)

    [event] = await timeline_of(sessions, incident, FELL)
    assert event.message.startswith("风险等级由严重回落至中度，事件等级由严重下调为中度")
    assert event.data["signal_id"] == str(fall.signal_id)
    assert (event.data["from"], event.data["to"]) == ("red", "orange")
    assert event.data["suggested_status"] is None
    stored = await reload(sessions, incident)
    assert stored.tier == Tier.ORANGE
    assert stored.status == IncidentStatus.DETECTED
    changed = [e for e in await events_of(sessions, incident) if e.type == "incident.tier_changed"]
    assert [(e.payload["from"], e.payload["to"]) for e in changed] == [("red", "orange")]


async def test_no_crisis_left_lowers_to_yellow_and_suggests_recovering_without_moving(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist, incident = await _red_incident(servers, sessions, redis)
    await force(sessions, incident, status=IncidentStatus.RESPONDING.value)

    await deliver(redis, servers, await make_fall(sessions, watchlist, Tier.RED, None))

    [event] = await timeline_of(sessions, incident, FELL)
    assert "风险等级由严重回落至无预警" in event.message
    assert "建议转入「恢复中」观察" in event.message
    assert event.data["suggested_status"] == IncidentStatus.RECOVERING
    stored = await reload(sessions, incident)
    # An open incident stays a crisis (yellow) until a person resolves it.
    assert (stored.tier, stored.status) == (Tier.YELLOW, IncidentStatus.RESPONDING)


async def test_a_tier_set_by_hand_is_not_lowered_and_the_timeline_says_so(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist, incident = await _red_incident(servers, sessions, redis)
    keep_orange = command_about(
        ChangeIncidentTier, incident, tier=Tier.ORANGE, reason="监管部门已介入，至少按中度处置"
    )
    await deliver(redis, servers, keep_orange)

    await deliver(redis, servers, await make_fall(sessions, watchlist, Tier.RED, Tier.BLUE))

    [event] = await timeline_of(sessions, incident, FELL)
    assert "事件等级保持人工设定的中度，未自动下调" in event.message
    assert event.data["held_by_hand"] is True
    assert (await reload(sessions, incident)).tier == Tier.ORANGE


async def test_a_fall_of_another_watchlist_keeps_a_merged_incident_tier(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist, incident = await _red_incident(servers, sessions, redis)
    other = await make_watchlist(sessions, watchlist.organization_id, name="奶粉罐")
    await deliver(redis, servers, await make_signal(sessions, other, Tier.ORANGE))
    [merged] = await incidents_of(sessions, other)
    await force(sessions, merged, status=IncidentStatus.MERGED.value, merged_into_id=incident.id)

    await deliver(redis, servers, await make_fall(sessions, other, Tier.ORANGE, None))

    [event] = await timeline_of(sessions, incident, FELL)
    assert event.data["watchlist_id"] == str(other.id)
    assert (await reload(sessions, incident)).tier == Tier.RED


async def _snoozed(
    servers: Servers, sessions: Sessions, redis: ArqRedis, clock: FixedClock
) -> tuple[Watchlist, SnoozeWatchlist]:
    watchlist = await make_watchlist(sessions)
    command = SnoozeWatchlist(
        organization_id=watchlist.organization_id,
        actor="key-admin",
        watchlist_id=watchlist.id,
        until=DETECTED_AT + timedelta(hours=2),
        reason="新品发布会期间声量正常偏高",
    )
    await deliver(redis, servers, command, clock=clock)
    return watchlist, command


async def _red_then_fall_while_snoozed(
    servers: Servers, sessions: Sessions, redis: ArqRedis, fell_to: Tier
) -> tuple[FixedClock, Watchlist, SnoozeWatchlist, RiskTierFell]:
    """Snooze a watchlist; during the snooze, raise it to red and let it fall to `fell_to`.

    Returns the clock the scenario ran on (left at the fall), for the test to move on.
    """
    clock = FixedClock(DETECTED_AT)
    watchlist, snooze = await _snoozed(servers, sessions, redis, clock)
    during = DETECTED_AT + timedelta(minutes=30)
    red = await make_signal(sessions, watchlist, Tier.RED, detected_at=during)
    fell = await make_fall(
        sessions, watchlist, Tier.RED, fell_to, detected_at=during + timedelta(minutes=13)
    )
    clock.current = during
    await deliver(redis, servers, red, fell, clock=clock)
    assert await incidents_of(sessions, watchlist) == []
    return clock, watchlist, snooze, fell


async def test_a_crisis_raised_during_a_snooze_opens_its_incident_when_the_snooze_ends(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock, watchlist, snooze, fell = await _red_then_fall_while_snoozed(
        servers, sessions, redis, Tier.ORANGE
    )

    sweep = _snooze_ends(sessions, redis, clock)
    clock.current = snooze.until - timedelta(seconds=1)
    await sweep.run_once()
    assert await incidents_of(sessions, watchlist) == []

    clock.current = snooze.until + timedelta(seconds=20)
    await sweep.run_once()
    await sweep.run_once()
    [incident] = await incidents_of(sessions, watchlist)
    # At the tier it still held when the silence ended, detected then: deadlines start now.
    assert incident.tier == Tier.ORANGE
    assert incident.detected_at == snooze.until
    assert incident.last_signal_id == fell.signal_id
    [opened] = await timeline_of(sessions, incident, "opened")
    assert "静默期于" in opened.message and "结束时风险仍为中度级" in opened.message
    assert [e.type for e in await events_of(sessions, incident)] == [EventType.INCIDENT_OPENED]


async def test_a_crisis_that_fell_during_the_snooze_ends_quietly(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock, watchlist, snooze, _ = await _red_then_fall_while_snoozed(
        servers, sessions, redis, Tier.BLUE
    )

    clock.current = snooze.until + timedelta(minutes=1)
    await _snooze_ends(sessions, redis, clock).run_once()
    assert await incidents_of(sessions, watchlist) == []


async def test_a_late_older_fall_does_not_drop_a_newer_held_crisis(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock = FixedClock(DETECTED_AT)
    watchlist, snooze = await _snoozed(servers, sessions, redis, clock)
    during = DETECTED_AT + timedelta(minutes=30)
    older_fall = await make_fall(sessions, watchlist, Tier.ORANGE, None, detected_at=during)
    red = await make_signal(
        sessions, watchlist, Tier.RED, detected_at=during + timedelta(minutes=5)
    )
    clock.current = during + timedelta(minutes=6)
    await deliver(redis, servers, red, clock=clock)
    await deliver(redis, servers, older_fall, clock=clock)

    clock.current = snooze.until
    await _snooze_ends(sessions, redis, clock).run_once()
    [incident] = await incidents_of(sessions, watchlist)
    assert (incident.tier, incident.last_signal_id) == (Tier.RED, red.signal_id)


async def test_two_snooze_end_runners_open_one_incident(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock = FixedClock(DETECTED_AT)
    watchlist, snooze = await _snoozed(servers, sessions, redis, clock)
    red = await make_signal(
        sessions, watchlist, Tier.RED, detected_at=DETECTED_AT + timedelta(minutes=30)
    )
    await deliver(redis, servers, red, clock=clock)

    clock.current = snooze.until + timedelta(minutes=1)
    first, second = _snooze_ends(sessions, redis, clock), _snooze_ends(sessions, redis, clock)
    await asyncio.gather(first.run_once(), second.run_once())

    [incident] = await incidents_of(sessions, watchlist)
    assert [e.type for e in await events_of(sessions, incident)] == [EventType.INCIDENT_OPENED]


async def test_a_fall_that_reached_the_open_incident_is_not_held_to_reopen_it_later(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    # The incident is open before the silence; its crisis falls to yellow while snoozed.
    clock = FixedClock(DETECTED_AT)
    watchlist = await make_watchlist(sessions)
    red = await make_signal(sessions, watchlist, Tier.RED, detected_at=DETECTED_AT)
    await deliver(redis, servers, red, clock=clock)
    [incident] = await incidents_of(sessions, watchlist)
    command = SnoozeWatchlist(
        organization_id=watchlist.organization_id,
        actor="key-admin",
        watchlist_id=watchlist.id,
        until=DETECTED_AT + timedelta(hours=2),
        reason="处置期间的正常声量",
    )
    clock.current = DETECTED_AT + timedelta(minutes=5)
    await deliver(redis, servers, command, clock=clock)
    during = DETECTED_AT + timedelta(minutes=30)
    fell = await make_fall(sessions, watchlist, Tier.RED, Tier.YELLOW, detected_at=during)
    clock.current = during
    await deliver(redis, servers, fell, clock=clock)
    assert (await reload(sessions, incident)).tier == Tier.YELLOW  # the incident heard it

    # A person resolves the incident before the silence ends.
    await force(sessions, incident, status=IncidentStatus.RESOLVED.value, resolved_at=during)
    clock.current = command.until + timedelta(minutes=1)
    await _snooze_ends(sessions, redis, clock).run_once()
    stored = await reload(sessions, incident)
    assert (stored.status, stored.reopened_count) == (IncidentStatus.RESOLVED, 0)
    assert await incidents_of(sessions, watchlist) == [stored]
