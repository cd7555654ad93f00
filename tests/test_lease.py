"""Leased loops run once per cluster and are taken over when their holder goes."""

import asyncio
import uuid
from datetime import datetime

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock, SystemClock
from libs.contracts.outcome import Outcome
from libs.mention_retention import MentionPruner, MentionRetention
from libs.messaging.lease import PREFIX, TTL_SECONDS, Lease
from libs.messaging.periodic import Periodic
from libs.messaging.retention import Pruner
from libs.messaging.sweep import Sweep, SweepSpec
from tests.builders import until


def _loop(redis: ArqRedis, passes: list[str], who: str, ttl: float = 1.0) -> Periodic:
    async def step() -> None:
        passes.append(who)

    return Periodic(f"sweep-{who}", step, interval=0.05, lease=Lease(redis, "sweep", ttl=ttl))


async def test_only_the_holder_runs_and_a_stopped_holder_hands_over_at_once(
    redis: ArqRedis,
) -> None:
    passes: list[str] = []
    first, second = _loop(redis, passes, "a"), _loop(redis, passes, "b")
    first.start()
    await until(lambda: len(passes) >= 1)
    second.start()
    await until(lambda: len(passes) >= 10)
    assert set(passes) == {"a"}
    await first.stop()
    handed_over = len(passes)
    await until(lambda: "b" in passes[handed_over:], seconds=0.5)
    await second.stop()


async def test_a_dead_holder_is_taken_over_when_its_lease_expires(redis: ArqRedis) -> None:
    passes: list[str] = []
    dead = Lease(redis, "sweep", ttl=0.5)
    assert await dead.take()
    survivor = _loop(redis, passes, "b", ttl=0.5)
    survivor.start()
    await asyncio.sleep(0.2)
    assert passes == []
    await until(lambda: "b" in passes, seconds=2.0)
    assert await dead.take() is False
    await survivor.stop()


async def test_a_dead_holder_of_a_slow_loop_is_taken_over_within_its_ttl(
    redis: ArqRedis,
) -> None:
    """The standby seeks the lease every ttl/3, not once an interval (here an hour)."""
    passes: list[str] = []
    dead = Lease(redis, "sweep", ttl=0.6)
    assert await dead.take()

    async def step() -> None:
        passes.append("b")

    survivor = Periodic("sweep-b", step, interval=3600, lease=Lease(redis, "sweep", ttl=0.6))
    survivor.start()
    await asyncio.sleep(0.3)
    assert passes == []
    # Expired after 0.6 s, sought every 0.2 s, and the pass runs as soon as it is taken.
    await until(lambda: passes == ["b"], seconds=1.5)
    await survivor.stop()


async def test_a_pass_longer_than_the_ttl_keeps_the_lease(redis: ArqRedis) -> None:
    passes: list[str] = []

    async def slow() -> None:
        passes.append("a")
        await asyncio.sleep(1.5)  # five times the TTL

    holder = Periodic("sweep-a", slow, interval=3600, lease=Lease(redis, "sweep", ttl=0.3))
    holder.start()
    await until(lambda: passes == ["a"])
    standby = _loop(redis, passes, "b", ttl=0.3)
    standby.start()
    await asyncio.sleep(1.2)
    assert passes == ["a"], "a second runner started while the first pass was still running"
    await holder.stop()
    await standby.stop()


async def test_the_sweeps_and_the_pruner_hold_short_leases_whatever_their_interval(
    redis: ArqRedis, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A five-minute loop's lease lives seconds, not three intervals, so a crash costs little."""

    async def nothing_due(session: AsyncSession, now: datetime) -> list[uuid.UUID]:
        return []

    async def never(session: AsyncSession, item: uuid.UUID, clock: Clock) -> Outcome:
        raise AssertionError("nothing is due")

    spec = SweepSpec("slow-sweep", nothing_due, never)
    loops: list[Periodic] = [
        Sweep(spec, sessions, redis, SystemClock(), interval=300, producer="test"),
        Pruner(sessions, redis, interval=300),
        MentionPruner(sessions, redis, MentionRetention(), interval=600),
    ]
    for loop in loops:
        loop.start()
    for name in ("slow-sweep", "messaging-retention", "mention-retention"):
        assert 0 < await _lease_ttl_ms(redis, name) <= TTL_SECONDS * 1000
    assert TTL_SECONDS <= 20
    for loop in loops:
        await loop.stop()


async def _lease_ttl_ms(redis: ArqRedis, name: str) -> int:
    """Return the lease's remaining lifetime once a loop has taken it."""
    for _ in range(250):
        left = int(await redis.pttl(PREFIX + name))
        if left > 0:
            return left
        await asyncio.sleep(0.02)
    raise AssertionError(f"lease {name} was never taken")
