"""Request budgets per API key, per organization and per client address, shared in Redis.

Every budget is a moving window (the `limits` library's moving-window strategy): a request
is allowed when fewer than `limit` requests of the same key, organization or address were
allowed in the last `window` seconds, whenever those seconds start. A fixed window lets a
client spend its budget twice in a moment, at the end of one window and the start of the
next; a moving window never lets more than `limit` through in any `window`. Redis keeps one
timestamp per allowed request (at most `limit` per identity), and each check is a script
run on Redis, so every process of every service counts against the same budgets.

The address budget is counted before the key is even looked up, so a client sending unknown
or made-up keys spends its address's budget like anyone else; the key and organization
budgets are counted once the key is known, so one organization's many keys together cannot
take more than its share.

When Redis cannot be reached the count falls back to this process alone: limits keep
holding per process (looser across replicas) and requests are neither refused nor failed
because the counter is away. An outage of the limiter must not become an outage of intake.
"""

import asyncio
import logging
import math
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

from limits import RateLimitItem, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from libs.messaging.failures import is_transient
from libs.settings import Settings

log = logging.getLogger(__name__)

WINDOW_SECONDS = 60
KEY_PREFIX = "crisiswatch:rate"


class Scope(StrEnum):
    """Whose budget a request is counted against."""

    KEY = "key"
    ORGANIZATION = "organization"
    ADDRESS = "address"


# How a refusal names the budget that ran out, before "may make ...".
_WHO = {
    Scope.KEY: "This key",
    Scope.ORGANIZATION: "This organization's keys together",
    Scope.ADDRESS: "This client address",
}


@dataclass(frozen=True)
class Budgets:
    """Requests allowed per window to each key, organization and address; 0 or less: none."""

    per_key: int
    per_organization: int
    per_address: int
    window_seconds: int = WINDOW_SECONDS

    @classmethod
    def from_settings(cls, settings: Settings) -> "Budgets":
        """Return the budgets the settings configure, per minute."""
        return cls(
            per_key=settings.rate_limit_per_minute,
            per_organization=settings.rate_limit_per_organization_per_minute,
            per_address=settings.rate_limit_per_address_per_minute,
        )


@dataclass(frozen=True)
class Verdict:
    """Whether a request may proceed, against which budget, and how much of it is left."""

    allowed: bool
    scope: Scope | None
    limit: int
    remaining: int
    reset: int
    """Seconds until the oldest request counted leaves the window (one more is allowed)."""

    @property
    def retry_after(self) -> int:
        """Seconds to wait before trying again when refused."""
        return max(1, self.reset)

    @property
    def explained(self) -> str:
        """The refusal in words: whose budget, how large, and when to try again."""
        who = _WHO[self.scope] if self.scope is not None else "This client"
        return f"{who} may make {self.limit} requests a minute; try again in {self.retry_after} s."

    def headers(self) -> dict[str, str]:
        """The IETF draft `RateLimit-*` fields, plus `Retry-After` on a refusal.

        Empty when no budget applies (every budget switched off).
        """
        if self.scope is None:
            return {}
        fields = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            fields["Retry-After"] = str(self.retry_after)
        return fields


UNLIMITED = Verdict(allowed=True, scope=None, limit=0, remaining=0, reset=0)


def tightest(*verdicts: Verdict) -> Verdict:
    """Return the verdict to answer with: a refusal if any, else the one with least left."""
    counted = [v for v in verdicts if v.scope is not None]
    if not counted:
        return UNLIMITED
    refused = [v for v in counted if not v.allowed]
    if refused:
        return max(refused, key=lambda v: v.retry_after)
    return min(counted, key=lambda v: (v.remaining, -v.reset))


@dataclass(frozen=True)
class _Hit:
    """One budget a request was counted against, and where it was counted."""

    scope: Scope
    identity: str
    item: RateLimitItem
    allowed: bool
    counter: MovingWindowRateLimiter


class Limiter:
    """Counts requests against the budgets, in Redis or, while Redis is away, in-process."""

    def __init__(self, redis: Redis, budgets: Budgets) -> None:
        self.budgets = budgets
        shared = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            # Shares the service's pool; `limits` types its options as scalars only.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._shared = MovingWindowRateLimiter(shared)
        self._local = MovingWindowRateLimiter(MemoryStorage())

    def tally(self) -> "Tally":
        """Start counting one request."""
        return Tally(self)

    async def hit(self, scope: Scope, identity: str) -> _Hit | None:
        """Count one request of `identity` against its `scope` budget; None when unlimited."""
        limit = {
            Scope.KEY: self.budgets.per_key,
            Scope.ORGANIZATION: self.budgets.per_organization,
            Scope.ADDRESS: self.budgets.per_address,
        }[scope]
        if limit <= 0:
            return None
        item = RateLimitItemPerSecond(limit, self.budgets.window_seconds, namespace=scope.value)
        try:
            allowed = await self._shared.hit(item, identity)
            return _Hit(scope, identity, item, allowed, self._shared)
        except Exception as exc:
            if not _redis_away(exc):
                raise
            log.warning("rate limit counted in this process: Redis is unreachable (%s)", exc)
            allowed = await self._local.hit(item, identity)
            return _Hit(scope, identity, item, allowed, self._local)

    async def verdict(self, hit: _Hit) -> Verdict:
        """Read back how much of a counted budget is left and when a request leaves it."""
        try:
            frees_at, remaining = await hit.counter.get_window_stats(hit.item, hit.identity)
        except Exception as exc:
            if not _redis_away(exc):
                raise
            # Redis left between counting and reading: answer from this process's count.
            frees_at, remaining = await self._local.get_window_stats(hit.item, hit.identity)
        return Verdict(
            allowed=hit.allowed,
            scope=hit.scope,
            limit=hit.item.amount,
            remaining=max(0, remaining),
            reset=max(0, math.ceil(frees_at - time.time())),
        )


class Tally:
    """The budgets one request is counted against, in order, then read back together.

    Counting is one script run on Redis per budget; reading what is left (for the
    headers) waits until the request is admitted or refused, and reads every budget at
    once, so an admitted request costs one round trip per budget plus one.
    """

    def __init__(self, limiter: Limiter) -> None:
        self._limiter = limiter
        self._hits: list[_Hit] = []

    async def address(self, address: str | None) -> bool:
        """Count the request against its client address (None: not known); False if over."""
        if address is None:
            return True
        return await self._count(Scope.ADDRESS, address)

    async def key(self, key_id: uuid.UUID, organization_id: uuid.UUID) -> bool:
        """Count the request of a known key against its own and its organization's budget.

        A request its key's budget refuses is not counted against the organization: one
        key hammering past its budget must not use up what its organization's other keys
        are left.
        """
        if not await self._count(Scope.KEY, str(key_id)):
            return False
        return await self._count(Scope.ORGANIZATION, str(organization_id))

    async def verdict(self) -> Verdict:
        """The request's verdict: the refusal if any budget refused it, else the budget with
        the least left (`UNLIMITED` when none applies)."""
        verdicts = await asyncio.gather(*(self._limiter.verdict(hit) for hit in self._hits))
        return tightest(*verdicts)

    async def _count(self, scope: Scope, identity: str) -> bool:
        hit = await self._limiter.hit(scope, identity)
        if hit is None:
            return True
        self._hits.append(hit)
        return hit.allowed


def _redis_away(exc: Exception) -> bool:
    """Whether `exc` means Redis gave no count (down, read-only, out of memory, a failed
    append-only write): the budget is then left to this process rather than failing the
    request."""
    return is_transient(exc) or isinstance(exc, RedisError)
