"""Leased loops run once per cluster and are taken over when their holder goes."""

import asyncio

from arq.connections import ArqRedis

from libs.messaging.lease import Lease
from libs.messaging.periodic import Periodic
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
