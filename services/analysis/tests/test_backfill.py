"""A backfill is decided once it has settled, never on half a history.

Real PostgreSQL and Redis, the real analysis worker on a fixed clock, and the re-scoring
sweep run pass by pass. The backfill's batches are analysed in the order that went wrong:
the newest part first, then the older ones.
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.contracts.messages import MentionIngested, RiskSignalRaised
from libs.database.engine import transaction
from libs.database.tables import OutboxMessage, RiskSignal, Watchlist
from libs.messaging.sweep import Sweep
from services.analysis import risk
from services.analysis.pipeline.backfill import SETTLE, due_after_backfill, is_backfill, settling
from services.analysis.pipeline.stages import read_window
from services.analysis.rescoring import RESCORING
from services.analysis.tests.builders import deliver, make_mention, make_watchlist, stage_crisis
from services.analysis.tests.test_risk_detection import Post, week_of_mornings
from tests.builders import Sessions, make_tenant, read_all
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


def _sweep(sessions: Sessions, redis: ArqRedis, clock: FixedClock) -> Sweep:
    return Sweep(RESCORING, sessions, redis, clock, interval=60.0, producer="analysis")


async def _store(
    sessions: Sessions, org: uuid.UUID, keyword: str, batches: Sequence[Sequence[Post]]
) -> tuple[Watchlist, list[list[uuid.UUID]]]:
    """Store a watchlist and the posts as ingest would, one id list per batch."""
    async with transaction(sessions) as session:
        watchlist = make_watchlist(session, org, keyword, [keyword])
        stored = [[make_mention(session, org, p.text, p.posted_at) for p in b] for b in batches]
    return watchlist, [[m.id for m in batch] for batch in stored]


async def _watchlist(sessions: Sessions, watchlist_id: uuid.UUID) -> Watchlist:
    async with sessions() as session:
        stored = await session.get(Watchlist, watchlist_id)
    assert stored is not None
    return stored


async def _signals(sessions: Sessions, watchlist_id: uuid.UUID) -> list[RiskSignal]:
    query = select(RiskSignal).where(RiskSignal.watchlist_id == watchlist_id)
    return await read_all(sessions, query.order_by(col(RiskSignal.created_at)))


async def _raised(sessions: Sessions, organization_id: uuid.UUID) -> list[RiskSignalRaised]:
    """Return the rises told to incidents (through the outbox), in order."""
    query = select(OutboxMessage).where(
        col(OutboxMessage.payload)["organization_id"].astext == str(organization_id),
        OutboxMessage.job_name == RiskSignalRaised.job_name(),
    )
    rows = await read_all(sessions, query.order_by(col(OutboxMessage.created_at)))
    return [RiskSignalRaised.model_validate(row.payload) for row in rows]


async def test_a_backfill_analysed_newest_first_is_decided_once_it_has_settled(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    org = tenant.org.id
    # Eight days of a metro line with a crowded morning each day; this morning's rush
    # began 35 minutes before NOW, as every morning's did.
    watchlist, days = await _store(sessions, org, "9号线", week_of_mornings(NOW))
    clock = FixedClock(NOW)

    # The batch holding the newest day (and the current window) is analysed first: on its
    # own it reads as a spike against one day of history.
    await deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=days[-1]), clock=clock
    )
    assert [s.tier for s in await _signals(sessions, watchlist.id)] == []
    assert await _raised(sessions, org) == []
    assert (await _watchlist(sessions, watchlist.id)).decision_due_at == NOW + SETTLE

    clock.current = NOW + 5 * SECOND
    older = [MentionIngested(organization_id=org, mention_ids=day) for day in days[:-1]]
    await deliver(servers, redis, *older, clock=clock)
    stored = await _watchlist(sessions, watchlist.id)
    assert stored.current_tier is None
    # Each backfill batch pushed the decision later.
    assert stored.decision_due_at == clock.current + SETTLE
    assert await _signals(sessions, watchlist.id) == []

    # Not due yet: the sweep leaves it alone.
    clock.current = NOW + 5 * SECOND + SETTLE - SECOND
    assert await _sweep(sessions, redis, clock).run_once() == 0
    assert (await _watchlist(sessions, watchlist.id)).decision_due_at is not None

    # Due: decided once, on the whole week — this time of day is crowded every morning.
    clock.current = NOW + 5 * SECOND + SETTLE
    await _sweep(sessions, redis, clock).run_once()
    stored = await _watchlist(sessions, watchlist.id)
    assert stored.decision_due_at is None
    async with sessions() as session:
        window = await read_window(session, stored, clock.current)
    decision = risk.assess(window.stats, risk.parse_tier(stored.current_tier))
    assert decision.components["baseline"]["kind"] == "seasonal"
    assert not decision.spike_fired
    signals = await _signals(sessions, watchlist.id)
    assert [s.tier for s in signals] == [Tier.BLUE]
    assert signals[0].created_at == clock.current
    assert await _raised(sessions, org) == []

    # Decided once: the next pass finds nothing due.
    clock.current += timedelta(minutes=1)
    await _sweep(sessions, redis, clock).run_once()
    assert len(await _signals(sessions, watchlist.id)) == 1


async def _crisis(
    sessions: Sessions,
) -> tuple[uuid.UUID, Watchlist, list[uuid.UUID], list[uuid.UUID]]:
    """A quiet history of six hours ago and a burst of 40 complaints ending just before NOW."""
    tenant = await make_tenant(sessions)
    async with transaction(sessions) as session:
        watchlist, history, burst = await stage_crisis(session, tenant.org.id, NOW)
    return tenant.org.id, watchlist, [m.id for m in history], [m.id for m in burst]


async def test_a_live_crisis_after_a_settled_backfill_raises_at_once(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    org, watchlist, history, burst = await _crisis(sessions)
    clock = FixedClock(NOW - SETTLE - SECOND)
    await deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=history), clock=clock
    )
    assert await _signals(sessions, watchlist.id) == []

    clock.current = NOW
    await deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=burst), clock=clock
    )

    stored = await _watchlist(sessions, watchlist.id)
    assert stored.current_tier == Tier.RED and stored.decision_due_at is None
    [raised] = await _raised(sessions, org)
    assert raised.tier == Tier.RED and raised.detected_at == NOW


async def test_a_live_crisis_during_a_backfill_raises_at_once_and_is_decided_again_once_settled(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    org, watchlist, history, burst = await _crisis(sessions)
    clock = FixedClock(NOW - 10 * SECOND)
    first, rest = history[:20], history[20:]
    await deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=first), clock=clock
    )

    # The burst arrives while the backfill settles: a crisis is not held back for a history.
    clock.current = NOW
    await deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=burst), clock=clock
    )
    [raised] = await _raised(sessions, org)
    assert raised.tier == Tier.RED and raised.detected_at == NOW
    # The mark stays: the backfill is decided on once it has settled.
    clock.current = NOW + 15 * SECOND
    await deliver(
        servers, redis, MentionIngested(organization_id=org, mention_ids=rest), clock=clock
    )
    assert (await _watchlist(sessions, watchlist.id)).decision_due_at == clock.current + SETTLE

    # The sweep does not re-decide the red watchlist while the backfill settles, then does.
    clock.current = NOW + 15 * SECOND + SETTLE - SECOND
    await _sweep(sessions, redis, clock).run_once()
    assert (await _watchlist(sessions, watchlist.id)).decision_due_at is not None
    clock.current += SECOND
    await _sweep(sessions, redis, clock).run_once()
    stored = await _watchlist(sessions, watchlist.id)
    assert stored.decision_due_at is None and stored.current_tier == Tier.RED
    assert [s.tier for s in await _signals(sessions, watchlist.id)] == [Tier.RED]
    assert len(await _raised(sessions, org)) == 1


def test_a_batch_is_backfill_when_most_of_its_posts_are_older_than_the_window() -> None:
    old, recent = NOW - timedelta(minutes=16), NOW - timedelta(minutes=1)
    assert is_backfill([old, old, recent], NOW)
    assert not is_backfill([old, recent], NOW)  # a tie is live
    assert not is_backfill([old, recent, recent], NOW)


def test_each_backfill_batch_pushes_the_decision_later_never_earlier() -> None:
    due = due_after_backfill(None, NOW)
    assert due == NOW + SETTLE
    assert settling(due, NOW + SETTLE - SECOND) and not settling(due, NOW + SETTLE)
    assert due_after_backfill(due, NOW + 10 * SECOND) == NOW + 10 * SECOND + SETTLE
    # A replica whose clock runs behind does not bring the decision forward.
    assert due_after_backfill(due, NOW - 10 * SECOND) == due
