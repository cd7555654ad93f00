"""Pruning the messaging ledgers, which would otherwise grow by every message forever.

At 200 mentions a second the receipts and the outbox each gain hundreds of thousands of
rows a day. A receipt is needed only while a copy of its message may still arrive (the
deduplication window); a published outbox row only while its delivery may still be
confirmed (`libs.messaging.confirmation` looks back one day); a re-driven dead letter only
as a record for a while. Rows go in small batches, so no pass holds long locks. Each pass
then reads every ledger's size (rows and bytes, from PostgreSQL's statistics, so it costs no
scan) into the `crisiswatch_ledger_rows` and `crisiswatch_ledger_bytes` gauges: a ledger that
grows while its pruning runs is the first sign that something no longer lets rows go.
"""

import logging
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Gauge
from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables._types import utcnow
from libs.messaging.lease import Lease
from libs.messaging.periodic import Periodic
from libs.settings import Settings

log = logging.getLogger(__name__)

BATCH = 5000
PRUNE_INTERVAL_SECONDS = 300.0


LEDGER_ROWS = Gauge(
    "crisiswatch_ledger_rows",
    "Rows in each messaging ledger, as PostgreSQL's statistics estimate them.",
    ["table"],
)
LEDGER_BYTES = Gauge(
    "crisiswatch_ledger_bytes",
    "Bytes each messaging ledger takes on disk, its indexes and TOAST included.",
    ["table"],
)
# Every table that grows by the message or the request, whoever prunes it (the idempotency
# records are forgotten by ingest's reconciler once they expire).
MEASURED = ("message_receipt", "outbox_message", "dead_letter", "idempotency_record")


@dataclass(frozen=True)
class Retention:
    """How long each ledger keeps its rows."""

    receipts: timedelta = timedelta(days=7)
    published_outbox: timedelta = timedelta(days=2)
    redriven_dead_letters: timedelta = timedelta(days=30)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Retention":
        """Return the retention the operator configured (`RETENTION_*_DAYS`)."""
        return cls(
            receipts=timedelta(days=settings.retention_receipts_days),
            published_outbox=timedelta(days=settings.retention_published_outbox_days),
            redriven_dead_letters=timedelta(days=settings.retention_redriven_dead_letters_days),
        )


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


async def measure(sessions: async_sessionmaker[AsyncSession]) -> dict[str, tuple[int, int]]:
    """Set the ledger gauges; return each measured table's (rows, bytes).

    Rows are the planner's live-row estimate (`pg_class.reltuples`, refreshed by autovacuum
    and ANALYZE), not a count: a count would scan tables that may hold millions of rows.
    """
    statement = text(
        "SELECT c.relname, GREATEST(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(:tables)"
    )
    async with sessions() as session:
        result = await session.exec(statement, params={"tables": list(MEASURED)})  # type: ignore[call-overload]
        sizes = {str(name): (int(rows), int(size)) for name, rows, size in result.all()}
    for table, (rows, size) in sizes.items():
        LEDGER_ROWS.labels(table=table).set(rows)
        LEDGER_BYTES.labels(table=table).set(size)
    return sizes


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
            await measure(sessions)

        lease = Lease(redis, "messaging-retention")
        super().__init__("messaging retention", step, interval=interval, lease=lease)
