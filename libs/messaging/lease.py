"""A lease in Redis: at most one process of the cluster runs a periodic loop's pass.

Several replicas of a worker each start the same loops. Work that must happen once per
cluster (a sweep, a daily report) takes the lease before each pass: the holder renews it
and keeps it; the others skip the pass. When the holder dies, its lease expires after
`ttl` seconds and the next replica to try takes over, so a pass is never missed for long.
Built on redis-py's lock (a token compared atomically on renewal), not on hand-made keys.
"""

import logging

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError

log = logging.getLogger(__name__)

PREFIX = "crisiswatch:lease:"


class Lease:
    """One named lease, held by this process between passes while it keeps renewing it."""

    def __init__(self, redis: Redis, name: str, *, ttl: float) -> None:
        self.name = name
        self._lock = Lock(redis, PREFIX + name, timeout=ttl, thread_local=False)
        self._held = False

    @property
    def held(self) -> bool:
        """Whether this process held the lease at its last attempt."""
        return self._held

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
        except Exception as exc:
            log.warning("lease %s: Redis unreachable, not held: %s", self.name, exc)
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
