"""Re-scoring on real PostgreSQL and Redis: a silent watchlist's tier falls as time passes."""

import asyncio
import itertools
import uuid
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.contracts.messages import MentionIngested, RiskTierFell
from libs.database.tables import OutboxMessage, RiskSignal, Watchlist
from libs.messaging.sweep import Sweep
from services.analysis import risk
from services.analysis.pipeline.stages import read_window
from services.analysis.rescoring import RESCORING
from services.analysis.tests.builders import deliver, store_crisis
from tests.builders import Sessions, make_tenant, read_all, until
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# 40 complaints 21 s apart, the last just before NOW: they leave the window one by one.
SPREAD = timedelta(seconds=21)


def _rescorer(sessions: Sessions, redis: ArqRedis, clock: FixedClock) -> Sweep:
    return Sweep(RESCORING, sessions, redis, clock, interval=60.0, producer="analysis")


async def _red_watchlist(
    servers: Servers, sessions: Sessions, redis: ArqRedis, clock: FixedClock
) -> Watchlist:
    """Store the spread-out crisis and let the real worker decide it at NOW."""
    tenant = await make_tenant(sessions)
    watchlist, history, burst = await store_crisis(sessions, tenant.org.id, NOW, SPREAD)
    batch = MentionIngested(organization_id=tenant.org.id, mention_ids=history + burst)
    await deliver(servers, redis, batch, clock=clock)
    return watchlist


async def _signals(sessions: Sessions, watchlist: Watchlist) -> list[RiskSignal]:
    query = select(RiskSignal).where(RiskSignal.watchlist_id == watchlist.id)
    return await read_all(sessions, query.order_by(col(RiskSignal.created_at)))


async def _fresh_tier(sessions: Sessions, watchlist_id: uuid.UUID, at: datetime) -> Tier | None:
    """Return the tier a decision without history would take at `at` (no hysteresis)."""
    async with sessions() as session:
        stored = await session.get(Watchlist, watchlist_id)
        assert stored is not None
        window = await read_window(session, stored, at)
    return risk.assess(window.stats, None).tier


async def _told(sessions: Sessions, organization_id: uuid.UUID) -> list[RiskTierFell]:
    query = select(OutboxMessage).where(
        col(OutboxMessage.payload)["organization_id"].astext == str(organization_id),
        OutboxMessage.job_name == RiskTierFell.job_name(),
    )
    rows = await read_all(sessions, query.order_by(col(OutboxMessage.created_at)))
    return [RiskTierFell.model_validate(row.payload) for row in rows]


async def test_a_silent_red_watchlist_falls_tier_by_tier_with_hysteresis(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock = FixedClock(NOW)
    watchlist = await _red_watchlist(servers, sessions, redis, clock)
    rescorer = _rescorer(sessions, redis, clock)

    held_by_hysteresis = []
    for minute in range(1, 21):
        clock.current = NOW + timedelta(minutes=minute)
        before = await _signals(sessions, watchlist)
        fresh = await _fresh_tier(sessions, watchlist.id, clock.current)
        await rescorer.run_once()
        after = await _signals(sessions, watchlist)
        held = risk.parse_tier(before[-1].tier)
        if len(after) == len(before) and risk.rank(fresh) < risk.rank(held):
            held_by_hysteresis.append(minute)

    signals = await _signals(sessions, watchlist)
    tiers = [s.tier for s in signals]
    assert tiers[0] == Tier.RED and tiers[-1] == risk.NO_TIER
    ranks = [risk.rank(risk.parse_tier(t)) for t in tiers]
    assert ranks == sorted(ranks, reverse=True) and len(set(ranks)) == len(ranks)
    # Tier by tier: at least one crisis tier between red and none.
    assert len(signals) >= 3
    # Hysteresis kept: a fresh decision would have been lower for a while, the tier held;
    # and every fall came only once the score was 10 points below the tier it left.
    assert held_by_hysteresis
    for fall in signals[1:]:
        left = risk.parse_tier(fall.components["previous_tier"])
        assert left is not None and fall.score < risk.FLOORS[left] - risk.HYSTERESIS
    # Each fall is told to incidents once, in order, with the signal it stored.
    told = await _told(sessions, watchlist.organization_id)
    assert [(m.previous_tier.value, m.tier.value if m.tier else risk.NO_TIER) for m in told] == [
        (a.tier, b.tier) for a, b in itertools.pairwise(signals)
    ]
    assert [m.signal_id for m in told] == [s.id for s in signals[1:]]
    stored = await _watchlist(sessions, watchlist.id)
    assert stored.current_tier is None


async def _watchlist(sessions: Sessions, watchlist_id: uuid.UUID) -> Watchlist:
    async with sessions() as session:
        stored = await session.get(Watchlist, watchlist_id)
    assert stored is not None
    return stored


async def _quiet_red_watchlist(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> tuple[FixedClock, Watchlist]:
    """A red watchlist and a clock past its window: the tier is due to fall to none."""
    clock = FixedClock(NOW)
    watchlist = await _red_watchlist(servers, sessions, redis, clock)
    clock.current = NOW + timedelta(minutes=20)
    return clock, watchlist


async def test_two_concurrent_rescoring_runners_do_the_work_once(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock, watchlist = await _quiet_red_watchlist(servers, sessions, redis)
    passes: list[str] = []

    def counted(rescorer: Sweep, name: str) -> Sweep:
        run_once = rescorer.run_once

        async def counting() -> int:
            passes.append(name)
            return await run_once()

        rescorer.run_once = counting  # type: ignore[method-assign]
        return rescorer

    # Two replicas' loops, started together: the lease lets one of them run passes.
    first = counted(_rescorer(sessions, redis, clock), "first")
    second = counted(_rescorer(sessions, redis, clock), "second")
    first.start()
    second.start()
    await until(lambda: len(passes) >= 1, seconds=10.0)
    await asyncio.sleep(0.3)
    await first.stop()
    await second.stop()
    assert len(set(passes)) == 1

    # Two passes at once without the lease (a holder that lost it mid-pass): the row lock
    # makes the second find the tier already decided.
    clock.current = NOW + timedelta(minutes=21)
    await asyncio.gather(
        _rescorer(sessions, redis, clock).run_once(), _rescorer(sessions, redis, clock).run_once()
    )

    signals = await _signals(sessions, watchlist)
    assert [s.tier for s in signals] == [Tier.RED, risk.NO_TIER]
    assert len(await _told(sessions, watchlist.organization_id)) == 1


async def test_a_watchlist_without_a_tier_is_not_rescored(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    clock, watchlist = await _quiet_red_watchlist(servers, sessions, redis)
    await _rescorer(sessions, redis, clock).run_once()
    clock.current = NOW + timedelta(minutes=30)

    assert await _rescorer(sessions, redis, clock).run_once() == 0
    assert len(await _signals(sessions, watchlist)) == 2
