"""A lease in Redis: at most one process of the cluster runs a periodic loop's pass.

Several replicas of a worker each start the same loops. Work that must happen once per
cluster (a sweep, a daily report) takes the lease: the holder renews it every `ttl / 3`
seconds, during its passes and between them, and keeps it; the others try as often and
skip the passes. When the holder dies, its lease expires after `ttl` seconds and the next
replica to try takes over, so a dead holder is replaced within `ttl + ttl / 3` seconds,
however long the loop's own interval. The TTL is short and fixed rather than a multiple of
the interval: a five-minute loop would otherwise leave its work undone for a quarter of an
hour after a crash. Built on redis-py's lock (a token compared atomically on renewal), not
on hand-made keys.
"""

import logging

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = logging.getLogger(__name__)

PREFIX = "crisiswatch:lease:"
# Long enough that a busy event loop or a short Redis blip does not lose the lease (a
# renewal is due every 5 s), short enough that a crashed holder is replaced within 20 s.
TTL_SECONDS = 15.0


class Lease:
    """One named lease, held by this process between passes while it keeps renewing it."""

    def __init__(self, redis: Redis, name: str, *, ttl: float = TTL_SECONDS) -> None:
        self.name = name
        self.ttl = ttl
        self._lock = Lock(redis, PREFIX + name, timeout=ttl, thread_local=False)
        self._held = False
        self._unreachable = False

    @property
    def held(self) -> bool:
        """Whether this process held the lease at its last attempt."""
        return self._held

    @property
    def renew_every(self) -> float:
        """How often the holder renews the lease and the others try to take it."""
        return self.ttl / 3

    async def take(self) -> bool:
        """Renew the lease if held, else try to take it; return whether this process holds it."""
        try:
            if self._held:
                try:
                    await self._lock.reacquire()
                    return True
                except LockError:
                    # Expired (a long pause) and maybe taken by another: try afresh.
                    self._held = False
            self._held = bool(await self._lock.acquire(blocking=False))
            self._unreachable = False
        except Exception as exc:
            # Said once per outage: the attempts repeat every few seconds.
            if not self._unreachable:
                log.warning("lease %s: Redis unreachable, not held: %s", self.name, exc)
            self._unreachable = True
            self._held = False
        return self._held

    async def release(self) -> None:
        """Give the lease up at once so another replica takes over without waiting."""
        if not self._held:
            return
        self._held = False
        try:
            await self._lock.release()
        except Exception as exc:
            log.warning("lease %s: release failed, it expires by itself: %s", self.name, exc)
