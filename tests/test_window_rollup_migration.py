"""Migration 0030 fills `watchlist_window_rollup` with what the live count would have kept.

A database at 0029 already holds analyses; after the upgrade, a tier decision reads its
history from the new table, so the migration's own grouping must agree with the live one
(`libs.database.rollups`), which a rebuild applies to the same rows.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from libs.database import rollups
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade
from services.analysis.repository import writes
from services.analysis.tests.builders import (
    analysis_row,
    make_mention,
    make_organization,
    make_watchlist,
)

NOW = datetime(2026, 3, 1, 12, 7, tzinfo=UTC)


async def _store(url: str) -> uuid.UUID:
    """Store at 0029 an organization's analyses over two days, in both its watchlists or one."""
    engine = create_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            org = await make_organization(session)
            one = make_watchlist(session, org, "一", ["一"])
            two = make_watchlist(session, org, "二", ["二"])
            await session.flush()
            kinds = [("negative", 0.0), ("neutral", 0.4), ("positive", 0.0), ("neutral", 0.0)]
            rows = []
            for n in range(60):
                posted_at = NOW - timedelta(minutes=47 * n, seconds=n)
                mention = make_mention(session, org, f"帖子{n}", posted_at)
                await session.flush()
                sentiment, sensitive = kinds[n % len(kinds)]
                watchlists = [one.id, two.id] if n % 3 else [two.id]
                rows.append(analysis_row(mention, watchlists, sentiment, sensitive))
            await writes.insert_analyses(session, rows)
            return org
    finally:
        await engine.dispose()


async def _windows(url: str, org: uuid.UUID) -> dict[tuple[str, datetime], tuple[int, int]]:
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            result = await conn.execute(
                text(
                    "SELECT watchlist_id::text, bucket_at, mentions, harmful "
                    "FROM watchlist_window_rollup WHERE organization_id = :org"
                ),
                {"org": org},
            )
            return {(row[0], row[1]): (row[2], row[3]) for row in result.all()}
    finally:
        await engine.dispose()


async def _rebuild(url: str, org: uuid.UUID) -> None:
    engine = create_engine(url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            await rollups.rebuild(session, org, NOW - timedelta(days=3), NOW + timedelta(hours=1))
    finally:
        await engine.dispose()


def test_the_upgrade_counts_every_stored_analysis_as_the_live_count_would(
    unmigrated_database: str,
) -> None:
    database_at_0029 = unmigrated_database
    upgrade(database_at_0029, "0029")
    org = asyncio.run(_store(database_at_0029))
    upgrade(database_at_0029)
    migrated = asyncio.run(_windows(database_at_0029, org))
    # Two watchlists over two days of quarter-hours; harm is negative or a sensitive term.
    assert len(migrated) == 60 + 40  # posts 47 minutes apart: each in a quarter-hour of its own
    assert sum(n for n, _ in migrated.values()) == 60 + 40
    assert 0 < sum(h for _, h in migrated.values()) < 100
    asyncio.run(_rebuild(database_at_0029, org))
    assert asyncio.run(_windows(database_at_0029, org)) == migrated
