"""Revoked keys announced to every gateway process over Redis pub/sub.

`revokeApiKey` commits the revocation, then publishes the key's id on one channel. Every
gateway process listens to it and, on hearing an id, forgets the key's cached principal
and closes its open WebSockets, so the key stops working everywhere at once rather than
when each process's cache entry runs out. Pub/sub forgets what nobody heard: a process that
was disconnected from Redis at that moment still stops accepting the key when its cache
entry expires (30 s), and its subscriptions end at their next delivery after that.
"""

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from libs.background import BackgroundTask

log = logging.getLogger(__name__)

CHANNEL = "crisiswatch:api-keys:revoked"
READ_TIMEOUT = 1.0
RECONNECT_DELAY = 1.0

OnRevoked = Callable[[uuid.UUID], Awaitable[None]]


async def announce(redis: Redis, key_id: uuid.UUID) -> None:
    """Tell every gateway process that `key_id` was revoked (committed already).

    Redis being away is logged, not raised: the revocation stands in the database and the
    processes' caches expire on their own.
    """
    try:
        await redis.publish(CHANNEL, str(key_id))
    except (RedisError, OSError):
        log.warning("could not announce the revocation of key %s", key_id, exc_info=True)


class RevocationListener:
    """One process's subscription to the revocation channel, calling `on_revoked` per key."""

    def __init__(self, redis: Redis, on_revoked: OnRevoked) -> None:
        self._redis = redis
        self._on_revoked = on_revoked
        self._background = BackgroundTask("key-revocations", self._run)
        self.start = self._background.start
        self.stop = self._background.stop
        self.listening = asyncio.Event()
        """Set once Redis confirmed the subscription (for tests and health)."""

    async def _run(self) -> None:
        pubsub = self._redis.pubsub()
        try:
            while True:
                try:
                    if not pubsub.subscribed:
                        await pubsub.subscribe(CHANNEL)
                    message = await pubsub.get_message(timeout=READ_TIMEOUT)
                    if message is not None:
                        await self._dispatch(message)
                except (RedisError, OSError):
                    # The next read reconnects and redis-py subscribes to the channel again;
                    # what was announced meanwhile is left to the cache's expiry.
                    self.listening.clear()
                    log.warning("key revocations: Redis connection lost; reconnecting")
                    await asyncio.sleep(RECONNECT_DELAY)
                except Exception:
                    log.exception("key revocations: a message could not be handled")
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _dispatch(self, message: dict[str, object]) -> None:
        if message["type"] == "subscribe":
            self.listening.set()
            return
        if message["type"] != "message":
            return
        data = message["data"]
        text = data.decode() if isinstance(data, bytes) else str(data)
        try:
            key_id = uuid.UUID(text)
        except ValueError:
            log.warning("ignored a malformed key revocation: %r", text[:64])
            return
        await self._on_revoked(key_id)
