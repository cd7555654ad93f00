"""Pruning the messaging ledgers, which would otherwise grow by every message forever.

At 200 mentions a second the receipts and the outbox each gain hundreds of thousands of
rows a day. A receipt is needed only while a copy of its message may still arrive (the
deduplication window); a published outbox row only while its delivery may still be
confirmed (`libs.messaging.confirmation` looks back one day); a re-driven dead letter only
as a record for a while. Rows go in small batches, so no pass holds long locks.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables._types import utcnow
from libs.messaging.lease import Lease
from libs.messaging.periodic import Periodic

log = logging.getLogger(__name__)

BATCH = 5000
PRUNE_INTERVAL_SECONDS = 300.0


@dataclass(frozen=True)
class Retention:
    """How long each ledger keeps its rows."""

    receipts: timedelta = timedelta(days=7)
    published_outbox: timedelta = timedelta(days=2)
    redriven_dead_letters: timedelta = timedelta(days=30)


# Table, time column and extra condition of each ledger; fixed text, never user input.
_LEDGERS = {
    "receipts": ("message_receipt", "handled_at", "TRUE"),
    "published_outbox": ("outbox_message", "published_at", "published_at IS NOT NULL"),
    "redriven_dead_letters": ("dead_letter", "redriven_at", "redriven_at IS NOT NULL"),
}


async def prune_once(
    sessions: async_sessionmaker[AsyncSession], retention: Retention = Retention()
) -> dict[str, int]:
    """Delete what each ledger no longer needs; return how many rows went from each."""
    removed: dict[str, int] = {}
    now = utcnow()
    for ledger, (table, column, condition) in _LEDGERS.items():
        cutoff = now - getattr(retention, ledger)
        statement = text(
            f"DELETE FROM {table} WHERE ctid IN ("
            f"SELECT ctid FROM {table} WHERE {condition} AND {column} < :cutoff LIMIT :batch)"
        )
        total = 0
        while True:
            async with transaction(sessions) as session:
                result = await session.exec(statement, params={"cutoff": cutoff, "batch": BATCH})  # type: ignore[call-overload]
                count = int(result.rowcount or 0)
            total += count
            if count < BATCH:
                break
        removed[ledger] = total
    if any(removed.values()):
        log.info("pruned messaging ledgers: %s", removed)
    return removed


class Pruner(Periodic):
    """The cluster's one pruning loop (leased), started beside every worker's routes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        *,
        interval: float = PRUNE_INTERVAL_SECONDS,
        retention: Retention = Retention(),
    ) -> None:
        async def step() -> None:
            await prune_once(sessions, retention)

        lease = Lease(redis, "messaging-retention", ttl=3 * interval)
        super().__init__("messaging retention", step, interval=interval, lease=lease)
