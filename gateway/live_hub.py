"""One Redis pub/sub listener per gateway process, fanned out to every live subscription.

Services publish notices to one channel per organization (`libs.messaging.live`). The hub
subscribes to an organization's channel when the first subscription of that organization
starts in this process and unsubscribes when the last one ends, so a process listens only
to the tenants it serves. Every gateway process runs its own hub; each receives every
notice of the channels it holds, which is how a subscriber connected to any process hears
a change committed by any worker.

Each subscription owns a bounded queue. Delivery never waits for a subscriber: when one
falls `queue_size` notices behind, its oldest notice is dropped to make room, so a slow
client loses old notices while the others stay current. Live delivery is at most once by
design (pub/sub forgets what nobody heard); clients re-read with queries on reconnect.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from libs.messaging import live

log = logging.getLogger(__name__)

QUEUE_SIZE = 256
# How long a new subscription waits for Redis to confirm its channel before giving up.
CONFIRM_TIMEOUT = 5.0
# A read returns at least this often, so the reader notices a stop or a broken connection.
READ_TIMEOUT = 1.0
RECONNECT_DELAY = 1.0

Accept = Callable[[live.Notice], bool]


class LiveUnavailableError(Exception):
    """Redis did not take the subscription; the caller should retry later."""


class Feed:
    """One subscription's notices, in arrival order, at most `size` waiting."""

    def __init__(self, accept: Accept, size: int) -> None:
        self.accept = accept
        self.dropped = 0
        self._queue: asyncio.Queue[live.Notice] = asyncio.Queue(maxsize=size)

    def offer(self, notice: live.Notice) -> None:
        """Queue `notice`, dropping the oldest waiting one if the subscriber is behind."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 100 == 0:
                log.warning("a live subscriber is behind; %d notices dropped", self.dropped)
        self._queue.put_nowait(notice)

    async def take(self, limit: int) -> list[live.Notice]:
        """Wait for the next notice, then return it with up to `limit - 1` already waiting."""
        taken = [await self._queue.get()]
        while len(taken) < limit and not self._queue.empty():
            taken.append(self._queue.get_nowait())
        return taken


@dataclass
class _Channel:
    feeds: set[Feed] = field(default_factory=set)
    confirmed: asyncio.Event = field(default_factory=asyncio.Event)


class LiveHub:
    """The process's pub/sub connection and the subscriptions it feeds."""

    def __init__(self, redis: Redis, *, queue_size: int = QUEUE_SIZE) -> None:
        self._pubsub: PubSub = redis.pubsub()
        self._queue_size = queue_size
        self._channels: dict[str, _Channel] = {}
        # SUBSCRIBE and UNSUBSCRIBE go out one at a time, in the order the hub decided them.
        self._control = asyncio.Lock()
        self._connected = asyncio.Event()
        # Set and replaced whenever a subscription goes live or ends.
        self._changed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start reading; subscriptions may be opened from now on."""
        if self._reader is None:
            self._reader = asyncio.create_task(self._read(), name="live-hub")

    async def stop(self) -> None:
        """Stop reading and close the pub/sub connection."""
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    def listeners(self, organization_id: uuid.UUID) -> int:
        """Return how many subscriptions of this process follow the organization."""
        held = self._channels.get(live.channel(organization_id))
        return len(held.feeds) if held is not None and held.confirmed.is_set() else 0

    async def wait_for_listeners(self, organization_id: uuid.UUID, count: int) -> None:
        """Wait until exactly `count` subscriptions of the organization are live here."""
        while self.listeners(organization_id) != count:
            changed = self._changed
            await changed.wait()

    def _announce_change(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    @asynccontextmanager
    async def listen(self, organization_id: uuid.UUID, accept: Accept) -> AsyncIterator[Feed]:
        """Feed the organization's notices that `accept` takes until the block ends."""
        feed = Feed(accept, self._queue_size)
        name = live.channel(organization_id)
        held = await self._join(name, feed)
        try:
            try:
                await asyncio.wait_for(held.confirmed.wait(), CONFIRM_TIMEOUT)
            except TimeoutError as exc:
                raise LiveUnavailableError("Redis did not confirm the subscription") from exc
            self._announce_change()
            yield feed
        finally:
            # Shielded: a cancelled subscription must still release its channel.
            await asyncio.shield(self._leave(name, feed))

    async def _join(self, name: str, feed: Feed) -> _Channel:
        async with self._control:
            held = self._channels.get(name)
            if held is None:
                held = self._channels[name] = _Channel()
                try:
                    await self._pubsub.subscribe(name)
                except (RedisError, OSError) as exc:
                    del self._channels[name]
                    raise LiveUnavailableError(f"cannot subscribe to live notices: {exc}") from exc
                except BaseException:
                    # Cancelled mid-subscribe (the client left): no feed holds the entry, so
                    # nothing else would ever remove it.
                    del self._channels[name]
                    raise
                self._connected.set()
            held.feeds.add(feed)
            return held

    async def _leave(self, name: str, feed: Feed) -> None:
        async with self._control:
            held = self._channels.get(name)
            if held is None:
                return
            held.feeds.discard(feed)
            self._announce_change()
            if held.feeds:
                return
            del self._channels[name]
            try:
                await self._pubsub.unsubscribe(name)
            except (RedisError, OSError):
                # The connection is gone and with it the subscription. redis-py forgets a
                # channel only once Redis confirms the UNSUBSCRIBE, and a reconnect restores
                # every channel it still lists: drop this one from that list by hand.
                self._pubsub.channels.pop(name.encode(), None)
                log.warning("unsubscribing from %s failed", name, exc_info=True)

    async def _read(self) -> None:
        # Nothing to read before the first SUBSCRIBE opens the pub/sub connection.
        await self._connected.wait()
        while True:
            try:
                message = await self._pubsub.get_message(timeout=READ_TIMEOUT)
                if message is not None:
                    self._dispatch(message)
            except (RedisError, OSError):
                # The next read reconnects, and redis-py subscribes to the held channels again.
                log.warning("live notices: Redis connection lost; reconnecting", exc_info=True)
                await asyncio.sleep(RECONNECT_DELAY)
            except Exception:
                # Whatever went wrong with one message, the process's other subscribers
                # must keep hearing theirs: the reader never stops on its own.
                log.exception("live notices: a message could not be dispatched")

    def _dispatch(self, message: dict[str, Any]) -> None:
        name = _text(message.get("channel"))
        held = self._channels.get(name)
        if held is None:
            return
        if message["type"] == "subscribe":
            held.confirmed.set()
            return
        if message["type"] != "message":
            return
        try:
            notices = live.decode(message["data"])
        except ValidationError:
            log.warning("ignored a malformed live message on %s", name)
            return
        for notice in notices:
            # The channel names the organization; a notice claiming another is not delivered.
            if live.channel(notice.organization_id) != name:
                log.warning("ignored a notice of another organization on %s", name)
                continue
            for feed in held.feeds:
                try:
                    accepted = feed.accept(notice)
                except Exception:
                    # One subscription's filter failing on an unexpected notice must not
                    # cost the organization's other subscribers theirs.
                    log.exception("a live filter failed on a %s notice", notice.kind)
                    continue
                if accepted:
                    feed.offer(notice)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
