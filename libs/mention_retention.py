"""Forgetting raw mentions after each organization's window, and rollups after theirs.

Raw mentions are the bulk of the database (about 2 kB each, with their analysis, watchlist
hits and stories); rollups (per-hour counts) are small and answer the long-range charts,
so they are kept longer. An organization's window is `organization.mention_retention_days`,
or the operator's `RETENTION_MENTIONS_DAYS` when it has none (0: kept for ever).

Why deletes and not dropped time partitions (docs/scale.md#partitioning): windows differ
per organization, so a time partition always holds rows some organization still keeps; and
partitioning `mention` would take the idempotent-ingest guarantee (one row per organization,
source and external id) out of PostgreSQL's hands. Each pass deletes one organization's
oldest mentions in small batches through `ix_mention_org_posted`; the rows that reference
them go by their foreign keys, each of which has an index (`tests/test_foreign_key_indexes.py`),
so a batch costs index lookups only, and no batch holds locks for long.

What goes with a mention: its analysis, watchlist hits, failure record and complaint; a
story whose first post it was (with its band keys; the story's other members keep their
analysis, without a story). A reply case filed from it stays in the reply library with its
own copy of the text. Authors stay: one small row per account, refreshed at each sighting.
"""

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables._types import utcnow
from libs.messaging.lease import Lease
from libs.messaging.periodic import Periodic
from libs.settings import Settings
from libs.story_bands import organization_clock, release_quiet_bands, release_quiet_recent_bands

log = logging.getLogger(__name__)

BATCH = 2000
"""Mentions per delete: with their cascades about a tenth of a second (docs/scale.md)."""
INTERVAL_SECONDS = 600.0
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def parse_rollups(value: str) -> tuple[tuple[str, str], ...]:
    """Read `table:time_column,...`; raise ValueError naming a pair that is not two names."""
    pairs = []
    for item in value.split(","):
        if not item.strip():
            continue
        table, _, column = item.strip().partition(":")
        if not (_IDENTIFIER.fullmatch(table) and _IDENTIFIER.fullmatch(column)):
            raise ValueError(
                f"RETENTION_ROLLUP_TABLES: {item.strip()!r} is not `table:time_column` "
                "(lower-case names)"
            )
        pairs.append((table, column))
    return tuple(pairs)


@dataclass(frozen=True)
class MentionRetention:
    """The default mention window (None: kept), the rollup window and tables, band-key windows."""

    default_days: int | None = None
    rollup_days: int = 730
    rollups: tuple[tuple[str, str], ...] = ()
    story_band_days: int | None = None
    story_band_recent_hours: int | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "MentionRetention":
        """Return what the operator configured (`RETENTION_MENTIONS_DAYS`, `..._ROLLUP...`)."""
        return cls(
            default_days=settings.retention_mentions_days or None,
            rollup_days=settings.retention_rollups_days,
            rollups=parse_rollups(settings.retention_rollup_tables),
            story_band_days=settings.retention_story_bands_days or None,
            story_band_recent_hours=settings.retention_story_bands_recent_hours or None,
        )


_WINDOWS = text(
    "SELECT id, COALESCE(mention_retention_days, :default) FROM organization ORDER BY id"
)
_DELETE_MENTIONS = text(
    "DELETE FROM mention WHERE id IN ("
    "SELECT id FROM mention WHERE organization_id = :org AND posted_at < :cutoff "
    "ORDER BY posted_at LIMIT :batch)"
)
_EXISTING = text("SELECT to_regclass(:name) IS NOT NULL")


async def _delete_in_batches(
    sessions: async_sessionmaker[AsyncSession], statement: object, params: dict[str, object]
) -> int:
    """Run a `DELETE ... LIMIT :batch` until it deletes fewer than a batch; return the total."""
    total = 0
    while True:
        async with transaction(sessions) as session:
            result = await session.exec(statement, params={**params, "batch": BATCH})  # type: ignore[call-overload]
            count = int(result.rowcount or 0)
        total += count
        if count < BATCH:
            return total


async def delete_mentions_before(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, cutoff: datetime
) -> int:
    """Delete the organization's mentions posted before `cutoff`; return how many went."""
    return await _delete_in_batches(
        sessions, _DELETE_MENTIONS, {"org": organization_id, "cutoff": cutoff}
    )


async def prune_once(
    sessions: async_sessionmaker[AsyncSession],
    retention: MentionRetention,
    now: datetime | None = None,
) -> dict[str, int]:
    """Apply every organization's windows once; return rows removed per table."""
    now = now or utcnow()
    async with sessions() as session:
        rows = await session.exec(_WINDOWS, params={"default": retention.default_days})  # type: ignore[call-overload]
        windows: list[tuple[uuid.UUID, int | None]] = [(r[0], r[1]) for r in rows.all()]
        present = []
        for table, column in retention.rollups:
            found = await session.exec(_EXISTING, params={"name": table})  # type: ignore[call-overload]
            if found.scalar_one():
                present.append((table, column))
    removed = {"mention": 0, "story_band": 0, **{table: 0 for table, _ in present}}
    for organization_id, days in windows:
        # Both band passes count quiet on the organization's clock (None: no stories).
        clock = (
            await organization_clock(sessions, organization_id, now)
            if retention.story_band_days or retention.story_band_recent_hours
            else None
        )
        if clock is not None and retention.story_band_days:
            removed["story_band"] += await release_quiet_bands(
                sessions, organization_id, timedelta(days=retention.story_band_days), clock
            )
        recent = retention.story_band_recent_hours
        if (
            clock is not None
            and recent
            and not (retention.story_band_days and recent >= retention.story_band_days * 24)
        ):
            # (A recent window as long as the long one: the long pass releases both tiers.)
            removed["story_band"] += await release_quiet_recent_bands(
                sessions, organization_id, timedelta(hours=recent), clock
            )
        if days:
            removed["mention"] += await delete_mentions_before(
                sessions, organization_id, now - timedelta(days=days)
            )
        for table, column in present:
            # Names were checked as plain identifiers (`parse_rollups`); values are bound.
            statement = text(
                f'DELETE FROM "{table}" WHERE ctid IN (SELECT ctid FROM "{table}" '
                f'WHERE organization_id = :org AND "{column}" < :cutoff LIMIT :batch)'
            )
            cutoff = now - timedelta(days=retention.rollup_days)
            removed[table] += await _delete_in_batches(
                sessions, statement, {"org": organization_id, "cutoff": cutoff}
            )
    if any(removed.values()):
        log.info("retention removed %s", removed)
    return removed


class MentionPruner(Periodic):
    """The cluster's one mention-retention loop (leased), started beside the ledger pruner."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        retention: MentionRetention,
        *,
        interval: float = INTERVAL_SECONDS,
    ) -> None:
        async def step() -> None:
            await prune_once(sessions, retention)

        lease = Lease(redis, "mention-retention")
        super().__init__("mention retention", step, interval=interval, lease=lease)
