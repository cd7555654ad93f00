"""Migration 0030 fills `watchlist_window_rollup` with what the live count would have kept.

A database at 0029 already holds analyses; after the upgrade, a tier decision reads its
history from the new table, so the migration's own grouping must agree with the live one
(`libs.database.rollups`), which a rebuild applies to the same rows.
"""

import asyncio
import secrets
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from libs.database import rollups
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade
from services.analysis.repository import writes
from services.analysis.repository.rows import AnalysisRow
from services.analysis.tests.builders import make_mention, make_organization, make_watchlist
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 1, 12, 7, tzinfo=UTC)


@pytest.fixture
def database_at_0029(servers: Servers) -> Iterator[str]:
    """A database of its own on the test server, migrated to 0029."""
    admin = make_url(servers.database_url).set(drivername="postgresql")
    name = f"crisiswatch_0030_{secrets.token_hex(4)}"

    async def run(statement: str) -> None:
        connection = await asyncpg.connect(admin.render_as_string(hide_password=False))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url, "0029")
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _analysis(mention_id: uuid.UUID, org: uuid.UUID, posted_at: datetime, **kw: Any) -> AnalysisRow:
    return AnalysisRow(
        mention_id=mention_id, organization_id=org, posted_at=posted_at,
        sentiment=kw["sentiment"], sentiment_score=0.0, sentiment_probability=1.0,
        sentiment_evidence=[], tokens=[], hashtags=[], watchlist_ids=kw["watchlists"],
        matched_keywords=[], sensitive_score=kw["sensitive"], sensitive_hits=[],
        crisis_type=None, crisis_confidence=0.0, crisis_evidence=[], story_id=None,
        parent_mention_id=None, influence=0.0, amplifier=False, analyzed_at=posted_at,
    )  # fmt: skip


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
                rows.append(
                    _analysis(
                        mention.id,
                        org,
                        posted_at,
                        sentiment=sentiment,
                        sensitive=sensitive,
                        watchlists=watchlists,
                    )
                )
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
    database_at_0029: str,
) -> None:
    org = asyncio.run(_store(database_at_0029))
    upgrade(database_at_0029)
    migrated = asyncio.run(_windows(database_at_0029, org))
    # Two watchlists over two days of quarter-hours; harm is negative or a sensitive term.
    assert len(migrated) == 60 + 40  # posts 47 minutes apart: each in a quarter-hour of its own
    assert sum(n for n, _ in migrated.values()) == 60 + 40
    assert 0 < sum(h for _, h in migrated.values()) < 100
    asyncio.run(_rebuild(database_at_0029, org))
    assert asyncio.run(_windows(database_at_0029, org)) == migrated
