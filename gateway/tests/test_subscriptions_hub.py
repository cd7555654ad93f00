"""The live hub on a real Redis: fan-out, bounded queues, and what it refuses to deliver."""

import asyncio
import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import pytest_asyncio
from arq.connections import ArqRedis

from gateway.live_hub import QUEUE_SIZE, LiveHub
from gateway.mentions.queries import MentionFilter
from gateway.mentions.subscriptions import HANDLED_FIELDS
from libs.messaging import live

TIMEOUT = 10.0
POSTED_AT = datetime(2025, 3, 15, 8, 0, tzinfo=UTC)


@asynccontextmanager
async def started(redis: ArqRedis, queue_size: int = QUEUE_SIZE) -> AsyncIterator[LiveHub]:
    """Run a hub on the test Redis until the block ends; `queue_size` bounds each feed."""
    running = LiveHub(redis, queue_size=queue_size)
    running.start()
    try:
        yield running
    finally:
        await running.stop()


@pytest_asyncio.fixture
async def hub(redis: ArqRedis) -> AsyncIterator[LiveHub]:
    """A started hub on the test Redis."""
    async with started(redis) as running:
        yield running


def _mention(organization_id: uuid.UUID) -> live.Notice:
    facts = live.MentionFacts(sentiment="negative", source="weibo", posted_at=POSTED_AT)
    return live.mention_notice(organization_id, uuid.uuid4(), facts)


def _everything(notice: live.Notice) -> bool:
    return True


async def test_a_subscriber_that_falls_behind_loses_its_oldest_notices(
    redis: ArqRedis,
) -> None:
    organization_id = uuid.uuid4()
    notices = [_mention(organization_id) for _ in range(5)]
    async with (
        started(redis, queue_size=2) as hub,
        hub.listen(organization_id, _everything) as slow,
    ):
        await live.announce(redis, notices)
        async with asyncio.timeout(TIMEOUT):
            # All five come in one message, so the first wait returns what is kept.
            behind = await slow.take(10)
    assert [n.id for n in behind] == [n.id for n in notices[-2:]]
    assert slow.dropped == 3


async def test_a_full_queue_never_delays_another_subscription_of_the_same_hub(
    redis: ArqRedis,
) -> None:
    organization_id = uuid.uuid4()
    notices = [_mention(organization_id) for _ in range(5)]
    received: list[live.Notice] = []
    async with (
        started(redis, queue_size=2) as hub,
        hub.listen(organization_id, _everything) as never_read,
        hub.listen(organization_id, _everything) as reader,
    ):
        for notice in notices:
            await live.announce(redis, [notice])
            async with asyncio.timeout(TIMEOUT):
                received.extend(await reader.take(10))
    assert [n.id for n in received] == [n.id for n in notices]
    assert never_read.dropped == 3


async def test_a_large_batch_arrives_whole_and_in_order(redis: ArqRedis) -> None:
    organization_id = uuid.uuid4()
    notices = [_mention(organization_id) for _ in range(2 * live.MAX_BATCH + 50)]
    received: list[live.Notice] = []
    async with (
        started(redis, queue_size=len(notices)) as hub,
        hub.listen(organization_id, _everything) as feed,
    ):
        await live.announce(redis, notices)
        async with asyncio.timeout(TIMEOUT):
            while len(received) < len(notices):
                received.extend(await feed.take(len(notices)))
    assert [n.id for n in received] == [n.id for n in notices]
    assert feed.dropped == 0


async def test_a_notice_of_another_organization_on_a_channel_is_not_delivered(
    hub: LiveHub, redis: ArqRedis
) -> None:
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    wanted = _mention(ours)
    async with hub.listen(ours, _everything) as feed:
        await redis.publish(live.channel(ours), live.encode([_mention(theirs)]))
        await redis.publish(live.channel(ours), b"not notices")
        await live.announce(redis, [_mention(theirs), wanted])
        async with asyncio.timeout(TIMEOUT):
            received = await feed.take(10)
    assert [n.id for n in received] == [wanted.id]


async def test_a_subscription_takes_only_what_it_accepts(hub: LiveHub, redis: ArqRedis) -> None:
    organization_id = uuid.uuid4()
    skipped, wanted = _mention(organization_id), _mention(organization_id)
    async with hub.listen(organization_id, lambda n: n.id == wanted.id) as feed:
        await live.announce(redis, [skipped, wanted])
        async with asyncio.timeout(TIMEOUT):
            received = await feed.take(10)
    assert [n.id for n in received] == [wanted.id]


async def _kill_hub_connection(hub: LiveHub, redis: ArqRedis) -> int:
    """Close the hub's pub/sub connection from the server's side, and only that one.

    Over TCP it is named by its address, since other tests' hubs may share the server; a
    Unix-socket server is this test's own, where the hub's is the only pub/sub client.
    """
    connection = hub._pubsub.connection
    assert connection is not None
    writer = connection._writer
    assert writer is not None
    address = writer.get_extra_info("sockname")
    if isinstance(address, tuple):
        return int(
            await redis.client_kill_filter(_type="pubsub", addr=f"{address[0]}:{address[1]}")
        )
    return int(await redis.client_kill_filter(_type="pubsub"))


async def test_the_hub_subscribes_again_after_losing_its_redis_connection(
    hub: LiveHub, redis: ArqRedis
) -> None:
    organization_id = uuid.uuid4()
    name = live.channel(organization_id)
    wanted = _mention(organization_id)

    async def subscribers() -> int:
        return int(dict(await redis.pubsub_numsub(name))[name.encode()])

    async with hub.listen(organization_id, _everything) as feed:
        assert await _kill_hub_connection(hub, redis) == 1
        async with asyncio.timeout(TIMEOUT):
            # Redis has no event for it: ask until the old connection is gone and the
            # hub's new one has subscribed (it waits RECONNECT_DELAY between the two).
            for count in (0, 1):
                while await subscribers() != count:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
            await live.announce(redis, [wanted])
            received = await feed.take(10)
    assert [n.id for n in received] == [wanted.id]


def test_the_live_stream_applies_every_condition_of_the_mention_filter() -> None:
    fields = {f.name for f in dataclasses.fields(MentionFilter)}
    assert fields == HANDLED_FIELDS


async def test_a_filter_that_fails_costs_only_its_own_subscription(
    hub: LiveHub, redis: ArqRedis
) -> None:
    organization_id = uuid.uuid4()
    notices = [_mention(organization_id) for _ in range(3)]

    def broken(notice: live.Notice) -> bool:
        raise ValueError("a tier this version does not know")

    async with (
        hub.listen(organization_id, broken) as failing,
        hub.listen(organization_id, _everything) as reader,
    ):
        await live.announce(redis, notices)
        received: list[live.Notice] = []
        async with asyncio.timeout(TIMEOUT):
            while len(received) < len(notices):
                received.extend(await reader.take(10))
    assert [n.id for n in received] == [n.id for n in notices]
    assert failing.dropped == 0
