"""Per-organization quotas: how much of a shared deployment one organization may hold or push.

Many organizations share one deployment's workers, database and queues. Request budgets
(`libs.ratelimit`) bound how often an organization asks; quotas bound what its requests add
up to: the watchlists and endpoints it holds (every mention is matched against every
watchlist of its organization, every event is sent to every endpoint) and the mentions it
pushes a minute and a day (each one is analysed). A quota of 0 or less is no quota.

A refusal names the quota and its limit, so the client knows which one to wait for or to
ask its operator to raise: a command answers `QuotaExceeded` with `quota` and `limit` in
its data (GraphQL's typed `QuotaExceeded`), ingest a 429 problem document whose `quota`
member names it.

Counted rows (watchlists, endpoints) are counted under a transaction-level advisory lock
per organization and quota, so two creations racing for the last place cannot both take
it. Mention volumes are counted in Redis with the `limits` library's sliding-window
counters, two numbers per window whatever the volume; while Redis is away they are counted
in this process alone, as request budgets are: an outage of the counter must not become an
outage of intake.
"""

import hashlib
import logging
import math
import time
import uuid
from dataclasses import dataclass

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandError, CommandResult, ErrorCode
from libs.database.tables._types import OrganizationRow
from libs.messaging.failures import is_transient
from libs.settings import Settings

log = logging.getLogger(__name__)

# The names clients see in a refusal, one per quota.
WATCHLISTS = "watchlists"
ENDPOINTS = "endpoints"
MENTIONS_PER_MINUTE = "mentionsPerMinute"
MENTIONS_PER_DAY = "mentionsPerDay"

KEY_PREFIX = "crisiswatch:quota"


@dataclass(frozen=True)
class Quotas:
    """What one organization may hold and push; 0 or less: no quota (the default here)."""

    watchlists: int = 0
    endpoints: int = 0
    mentions_per_minute: int = 0
    mentions_per_day: int = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> "Quotas":
        """Return the quotas the settings configure."""
        return cls(
            watchlists=settings.quota_watchlists_per_organization,
            endpoints=settings.quota_endpoints_per_organization,
            mentions_per_minute=settings.quota_mentions_per_organization_per_minute,
            mentions_per_day=settings.quota_mentions_per_organization_per_day,
        )


def exceeded(quota: str, limit: int, message: str) -> CommandResult:
    """Refuse a command because the organization holds its `quota` of `limit` already."""
    return CommandResult(
        ok=False,
        data={"quota": quota, "limit": limit},
        error=CommandError(code=ErrorCode.QUOTA_EXCEEDED, message=message),
    )


async def room_for_one_more(
    session: AsyncSession,
    table: type[OrganizationRow],
    organization_id: uuid.UUID,
    *,
    quota: str,
    limit: int,
    noun: str,
) -> CommandResult | None:
    """Return the refusal when the organization already holds `limit` rows of `table`.

    Takes the organization's lock on this quota until the caller's transaction ends, so the
    row the caller then inserts is counted by the next creation, never raced past.
    """
    if limit <= 0:
        return None
    await session.exec(select(func.pg_advisory_xact_lock(_lock_key(quota, organization_id))))
    held = (
        await session.exec(
            select(func.count())
            .select_from(table)
            .where(col(table.organization_id) == organization_id)
        )
    ).one()
    if held < limit:
        return None
    return exceeded(
        quota,
        limit,
        f"your organization has {held} {noun}, its quota; remove one or ask the operator "
        f"to raise QUOTA_{quota.upper()}_PER_ORGANIZATION",
    )


def _lock_key(quota: str, organization_id: uuid.UUID) -> int:
    digest = hashlib.blake2b(f"quota:{quota}:".encode() + organization_id.bytes, digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@dataclass(frozen=True)
class VolumeRefusal:
    """Which mention quota a push would exceed, by how much, and when to try again."""

    quota: str
    limit: int
    remaining: int
    retry_after: int
    asked: int

    @property
    def explained(self) -> str:
        """The refusal in words: the quota, what is left of it, and when to try again."""
        per = "minute" if self.quota == MENTIONS_PER_MINUTE else "day"
        left = f"{self.remaining} are left" if self.remaining else "none are left"
        return (
            f"your organization may push {self.limit} mentions a {per} (quota {self.quota}); "
            f"this request carries {self.asked} and {left}; try again in {self.retry_after} s"
        )


class MentionVolume:
    """Counts the mentions each organization pushes against its per-minute and per-day quotas."""

    def __init__(self, redis: Redis, quotas: Quotas) -> None:
        self._windows: list[tuple[str, RateLimitItem]] = [
            (name, item(limit, namespace=name))
            for name, item, limit in (
                (MENTIONS_PER_MINUTE, RateLimitItemPerMinute, quotas.mentions_per_minute),
                (MENTIONS_PER_DAY, RateLimitItemPerDay, quotas.mentions_per_day),
            )
            if limit > 0
        ]
        shared = RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=KEY_PREFIX,
            # Shares the service's pool; `limits` types its options as scalars only.
            connection_pool=redis.connection_pool,  # type: ignore[arg-type]
        )
        self._shared = SlidingWindowCounterRateLimiter(shared)
        self._local = SlidingWindowCounterRateLimiter(MemoryStorage())

    async def take(self, organization_id: uuid.UUID, count: int) -> VolumeRefusal | None:
        """Count `count` mentions against the organization's quotas; the refusal if over.

        The minute is counted first and the day only once the minute allowed the push, so
        a push refused for the minute spends none of the day. A refused push is counted
        against neither quota that refused it.
        """
        if count <= 0:
            return None
        identity = str(organization_id)
        for name, item in self._windows:
            if not await self._hit(item, identity, count):
                return await self._refusal(name, item, identity, count)
        return None

    async def _hit(self, item: RateLimitItem, identity: str, count: int) -> bool:
        try:
            return await self._shared.hit(item, identity, cost=count)
        except Exception as exc:
            if not _redis_away(exc):
                raise
            log.warning("mention quota counted in this process: Redis is unreachable (%s)", exc)
            return await self._local.hit(item, identity, cost=count)

    async def _refusal(
        self, name: str, item: RateLimitItem, identity: str, count: int
    ) -> VolumeRefusal:
        try:
            frees_at, remaining = await self._shared.get_window_stats(item, identity)
        except Exception as exc:
            if not _redis_away(exc):
                raise
            frees_at, remaining = await self._local.get_window_stats(item, identity)
        # A push larger than what is left waits until enough has left the window; the
        # counter knows only when the next unit leaves, so the wait is at least that.
        wait = max(1, math.ceil(frees_at - time.time()))
        return VolumeRefusal(
            quota=name,
            limit=item.amount,
            remaining=max(0, remaining),
            retry_after=wait,
            asked=count,
        )


def _redis_away(exc: Exception) -> bool:
    """Whether `exc` means Redis gave no count; the quota is then kept by this process."""
    return is_transient(exc) or isinstance(exc, RedisError)
