"""Per-key request limits, counted in Redis so every process of a service shares them.

A fixed one-minute window per API key: one INCR and one EXPIRE in a transaction per
request. At a window's edge a client can get up to twice the limit in a short burst;
that is accepted for its cost (one round trip, no scripts), and the answer tells the
client how long to wait (`Retry-After`).

When Redis cannot be reached the count falls back to this process alone: limits keep
holding per process (looser across replicas) and requests are neither refused nor failed
because the counter is away. An outage of the limiter must not become an outage of intake.
"""

import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from libs.messaging.failures import is_transient

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60


@dataclass
class _LocalWindows:
    """Per-process counts for the current window, used only while Redis is away."""

    window: int = -1
    counts: Counter[uuid.UUID] = field(default_factory=Counter)

    def incr(self, key_id: uuid.UUID, window: int) -> int:
        if window != self.window:
            self.window, self.counts = window, Counter()
        self.counts[key_id] += 1
        return self.counts[key_id]


_LOCAL = _LocalWindows()


@dataclass(frozen=True)
class Verdict:
    """Whether a request may proceed, and when the caller may try again if not."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int

    @property
    def explained(self) -> str:
        """The refusal in words, after "this key": the budget, and when to try again."""
        return f"may make {self.limit} requests a minute; try again in {self.retry_after} s"


async def hit(redis: Redis, key_id: uuid.UUID, limit: int, *, now: float | None = None) -> Verdict:
    """Count one request of `key_id`; a `limit` of 0 or less means no limit."""
    if limit <= 0:
        return Verdict(allowed=True, limit=0, remaining=0, retry_after=0)
    moment = time.time() if now is None else now
    window = int(moment // WINDOW_SECONDS)
    key = f"crisiswatch:rate:{key_id}:{window}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 2 * WINDOW_SECONDS)
            count, _ = await pipe.execute()
    except Exception as exc:
        # Any answer but a count (down, read-only, out of memory, a failed append-only
        # write) leaves intake to the local count rather than failing the request.
        if not (is_transient(exc) or isinstance(exc, RedisError)):
            raise
        log.warning("rate limit counted in this process: Redis is unreachable (%s)", exc)
        count = _LOCAL.incr(key_id, window)
    retry_after = max(1, WINDOW_SECONDS - int(moment % WINDOW_SECONDS))
    return Verdict(
        allowed=int(count) <= limit,
        limit=limit,
        remaining=max(0, limit - int(count)),
        retry_after=retry_after,
    )
