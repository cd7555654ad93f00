"""Each organization's cost budget per minute, shared by every gateway through Redis.

A sliding window counter (`limits`): this minute's spending plus last minute's, weighted by
how much of it the window still covers, so a client cannot spend twice the budget across a
minute's edge. An operation is charged its estimated cost before it runs; one that does not
fit is refused whole, with how long until it would fit.

When Redis cannot be reached, the budget is kept by this process alone (looser across
replicas), so an outage of the counter never refuses every operation.
"""

import logging
import math
import uuid
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import StorageError
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "crisiswatch:cost"
WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Spending:
    """Whether an operation's cost fit the budget, what is left, and when to try again."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int


_SHARED: "WeakKeyDictionary[Redis, SlidingWindowCounterRateLimiter]" = WeakKeyDictionary()
_LOCAL = SlidingWindowCounterRateLimiter(MemoryStorage())


def _shared(redis: Redis) -> SlidingWindowCounterRateLimiter:
    """The Redis-backed limiter over `redis`'s connection pool, made once per client."""
    limiter = _SHARED.get(redis)
    if limiter is None:
        storage = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            wrap_exceptions=True,
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]  # passed to the client
        )
        limiter = _SHARED[redis] = SlidingWindowCounterRateLimiter(storage)
    return limiter


async def spend(redis: Redis, organization_id: uuid.UUID, cost: int, per_minute: int) -> Spending:
    """Charge `cost` to the organization's budget of `per_minute`; 0 means no budget."""
    if per_minute <= 0:
        return Spending(allowed=True, limit=0, remaining=0, retry_after=0)
    item = RateLimitItemPerMinute(per_minute)
    who = str(organization_id)
    try:
        return await _charge(_shared(redis), item, who, cost)
    except (StorageError, RedisError, OSError) as exc:
        log.warning("cost budget kept in this process: Redis is unreachable (%s)", exc)
        return await _charge(_LOCAL, item, who, cost)


async def _charge(
    limiter: SlidingWindowCounterRateLimiter, item: RateLimitItemPerMinute, who: str, cost: int
) -> Spending:
    # A cost above the whole budget could never fit: refuse it without charging.
    allowed = cost <= 0 or (cost <= item.amount and await limiter.hit(item, who, cost=cost))
    stats = await limiter.get_window_stats(item, who)
    return Spending(
        allowed=allowed,
        limit=item.amount,
        remaining=stats.remaining,
        retry_after=0 if allowed else _wait(item.amount, stats.remaining, cost),
    )


def _wait(limit: int, remaining: int, cost: int) -> int:
    """Seconds until `cost` fits: the window frees about `limit` a minute, all of it in two."""
    missing = max(1, min(cost, limit) - remaining)
    return max(1, min(2 * WINDOW_SECONDS, math.ceil(missing * WINDOW_SECONDS / limit)))
