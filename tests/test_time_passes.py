"""Time passes when nobody posts: analysis re-scores, incidents hear falls and snooze ends.

A crisis goes through the real analysis worker into the real incidents worker; then the
clock moves minute by minute with no new mention, the analysis re-scoring sweep runs, and
the incidents worker applies what it told (and its snooze-end sweep what a snooze held).
"""

from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.contracts.messages import MentionIngested, RiskTierFell
from libs.contracts.response import SnoozeWatchlist
from libs.database.tables import OutboxMessage, Watchlist
from libs.messaging.publisher import publish
from libs.messaging.sweep import Sweep
from services.analysis.rescoring import RESCORING
from services.analysis.tests.builders import deliver as analyse
from services.analysis.tests.builders import store_crisis
from services.incidents.signals.service import SNOOZE_ENDS
from services.incidents.tests.builders import deliver as apply
from services.incidents.tests.builders import events_of, incidents_of, reload, timeline_of
from services.incidents.timeline import EventKind
from tests.builders import Sessions, make_tenant, read_all
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SPREAD = timedelta(seconds=21)


async def _crisis(
    servers: Servers,
    sessions: Sessions,
    redis: ArqRedis,
    clock: FixedClock,
    *,
    snooze_for: timedelta | None = None,
) -> Watchlist:
    """Store the spread-out crisis, snooze its watchlist if asked, and run both workers at NOW."""
    tenant = await make_tenant(sessions)
    watchlist, history, burst = await store_crisis(sessions, tenant.org.id, NOW, SPREAD)
    if snooze_for is not None:
        command = SnoozeWatchlist(
            organization_id=tenant.org.id,
            actor="key-admin",
            watchlist_id=watchlist.id,
            until=NOW + snooze_for,
            reason="新品发布会期间声量正常偏高",
        )
        clock.current = NOW - timedelta(minutes=1)
        await apply(redis, servers, command, clock=clock)
    clock.current = NOW
    batch = MentionIngested(organization_id=tenant.org.id, mention_ids=history + burst)
    await analyse(servers, redis, batch, clock=clock)
    await apply(redis, servers, clock=clock)
    return watchlist


async def _minutes_pass(
    servers: Servers, sessions: Sessions, redis: ArqRedis, clock: FixedClock, minutes: range
) -> None:
    """Move the clock minute by minute; each minute both sweeps run and incidents drain."""
    rescoring = Sweep(RESCORING, sessions, redis, clock, interval=60.0, producer="analysis")
    snooze_ends = Sweep(SNOOZE_ENDS, sessions, redis, clock, interval=60.0, producer="incidents")
    for minute in minutes:
        clock.current = NOW + timedelta(minutes=minute)
        await rescoring.run_once()
        await apply(redis, servers, clock=clock)
        await snooze_ends.run_once()


async def test_a_silent_crisis_falls_and_its_incident_hears_each_fall_once(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock = FixedClock(NOW)
    watchlist = await _crisis(servers, sessions, redis, clock)
    [incident] = await incidents_of(sessions, watchlist)
    assert incident.tier == Tier.RED

    await _minutes_pass(servers, sessions, redis, clock, range(1, 21))

    falls = await timeline_of(sessions, incident, EventKind.RISK_FELL.value)
    assert [(e.data["risk_from"], e.data["risk_to"]) for e in falls] == [
        ("red", "orange"),
        ("orange", "blue"),
        ("blue", None),
    ]
    assert [(e.data["from"], e.data["to"]) for e in falls] == [
        ("red", "orange"),
        ("orange", "yellow"),
        ("yellow", "yellow"),
    ]
    assert (await reload(sessions, incident)).tier == Tier.YELLOW
    changed = [e for e in await events_of(sessions, incident) if e.type == "incident.tier_changed"]
    assert [(e.payload["from"], e.payload["to"]) for e in changed] == [
        ("red", "orange"),
        ("orange", "yellow"),
    ]

    # A fall published again (the relay after a crash, Redis having forgotten the job)
    # changes nothing: the incidents worker's receipt has it.
    query = select(OutboxMessage).where(OutboxMessage.job_name == RiskTierFell.job_name())
    first = RiskTierFell.model_validate(
        (await read_all(sessions, query.order_by(col(OutboxMessage.created_at))))[0].payload
    )
    assert first.watchlist_id == watchlist.id
    await redis.delete(result_key_prefix + str(first.message_id))
    await publish(redis, first)
    await apply(redis, servers, clock=clock)
    assert len(await timeline_of(sessions, incident, EventKind.RISK_FELL.value)) == 3


async def test_a_crisis_still_on_when_its_snooze_ends_opens_its_incident(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock = FixedClock(NOW)
    watchlist = await _crisis(servers, sessions, redis, clock, snooze_for=timedelta(minutes=5))
    assert await incidents_of(sessions, watchlist) == []

    await _minutes_pass(servers, sessions, redis, clock, range(1, 5))
    assert await incidents_of(sessions, watchlist) == []

    await _minutes_pass(servers, sessions, redis, clock, range(5, 7))
    [incident] = await incidents_of(sessions, watchlist)
    assert incident.tier == Tier.RED
    assert incident.detected_at == NOW + timedelta(minutes=5)


async def test_a_crisis_that_died_down_during_its_snooze_ends_quietly(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock = FixedClock(NOW)
    watchlist = await _crisis(servers, sessions, redis, clock, snooze_for=timedelta(minutes=20))

    await _minutes_pass(servers, sessions, redis, clock, range(1, 25))

    assert await incidents_of(sessions, watchlist) == []
    async with sessions() as session:
        stored = await session.get(Watchlist, watchlist.id)
    assert stored is not None and stored.current_tier is None
