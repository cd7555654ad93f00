"""Where a batch waits for a concurrent batch of the same watchlist and story.

Two batches that match one watchlist decide it one after the other, and two that join one
story count it one after the other. Nothing else needs to wait: the second batch stores
its analyses and hits while the first is still deciding, and waits at the watchlist's
lock. The race is made deterministic as in `test_story_race`: the first batch is analysed
and left uncommitted, the second starts and is seen waiting, then the first commits. Real
PostgreSQL, two connections, the real analysis service.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, MentionIngested, UpdateWatchlist
from libs.database.engine import transaction
from libs.database.tables import Story, WatchlistHit
from services.analysis import configuration, service
from services.analysis.analyzer import Analyzer
from services.analysis.pipeline import STAGES, Batch
from services.analysis.pipeline.stages import store_hits
from services.analysis.tests.builders import (
    CRISIS_REPORT,
    make_mention,
    make_organization,
    make_watchlist,
)
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# The backend waiting for `holder`, and the tables it has written to in its transaction.
_WAITER = text(
    """
    SELECT a.pid,
           coalesce(array_agg(c.relname::text) FILTER (WHERE l.mode = 'RowExclusiveLock'), '{}')
               AS written
    FROM pg_stat_activity a
    LEFT JOIN pg_locks l ON l.pid = a.pid AND l.granted AND l.locktype = 'relation'
    LEFT JOIN pg_class c ON c.oid = l.relation
    WHERE a.datname = current_database() AND CAST(:holder AS int) = ANY(pg_blocking_pids(a.pid))
    GROUP BY a.pid
    """
)


async def _analyse(
    sessions: async_sessionmaker[AsyncSession],
    analyzer: Analyzer,
    org: uuid.UUID,
    mention_ids: list[uuid.UUID],
) -> None:
    async with transaction(sessions) as session:
        message = MentionIngested(organization_id=org, mention_ids=mention_ids)
        await service.analyze_mentions(session, analyzer, message, now=NOW)


async def test_a_second_batch_stores_its_rows_and_waits_only_for_the_decision(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    analyzer: Analyzer,
) -> None:
    async with transaction(sessions) as session:
        org = await make_organization(session)
        watchlist = make_watchlist(session, org, "禾岚", ["禾岚"])
        first, second, third = (
            make_mention(session, org, f"{CRISIS_REPORT}（{n}）", NOW - timedelta(minutes=m))
            for n, m in ((1, 3), (2, 2), (3, 1))
        )
        await session.flush()
        watchlist_id = watchlist.id
        ids = [first.id, second.id, third.id]
    # The story exists and is committed: both racing batches join it.
    await _analyse(sessions, analyzer, org, ids[:1])

    async def analyse_third() -> None:
        await _analyse(sessions, analyzer, org, ids[2:])

    waiting: asyncio.Task[None] | None = None
    try:
        async with transaction(sessions) as session:
            await service.analyze_mentions(
                session,
                analyzer,
                MentionIngested(organization_id=org, mention_ids=ids[1:2]),
                now=NOW,
            )
            holder = await session.scalar(text("SELECT pg_backend_pid()"))
            waiting = asyncio.create_task(analyse_third())
            async with asyncio.timeout(60), engine.connect() as conn:
                # A transaction per ask: pg_stat_activity is read once per transaction.
                while not (found := (await conn.execute(_WAITER, {"holder": holder})).all()):
                    await conn.rollback()
                    assert not waiting.done(), "the second batch ended without waiting"
                    await asyncio.sleep(0.02)
                (waiter,) = found
            # Waiting before its decision: its analyses and hits are stored, and neither
            # its story nor the rollups are counted yet.
            assert {"mention_analysis", "watchlist_hit"} <= set(waiter.written), waiter.written
            counted = [t for t in waiter.written if t == "story" or "rollup" in t]
            assert not counted, f"{counted} written before the decision"
    finally:
        if waiting is not None:
            await waiting

    async with sessions() as session:
        (story,) = (await session.exec(select(Story).where(Story.organization_id == org))).all()
        by_watchlist = WatchlistHit.watchlist_id == watchlist_id
        hits = (await session.exec(select(WatchlistHit).where(by_watchlist))).all()
    assert story.mention_count == 3
    assert story.first_mention_id == ids[0]
    assert sorted(h.mention_id for h in hits) == sorted(ids)
    assert {h.story_id for h in hits} == {story.id}


async def test_an_edit_is_not_held_off_by_a_batch_storing_hits_but_a_rename_is(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    analyzer: Analyzer,
) -> None:
    # A batch that has stored its hits holds the watchlist only against key changes: an
    # edit of its keywords goes ahead at once, a rename (the name is a unique key) waits.
    async with transaction(sessions) as session:
        org = await make_organization(session)
        watchlist = make_watchlist(session, org, "禾岚", ["禾岚"])
        mention = make_mention(session, org, CRISIS_REPORT, NOW - timedelta(minutes=1))
        await session.flush()
        watchlist_id, mention_id = watchlist.id, mention.id

    async def edit(**change: object) -> CommandResult:
        async with transaction(sessions) as session:
            await session.exec(text("SET LOCAL lock_timeout = '1s'"))  # type: ignore[call-overload]
            command = UpdateWatchlist(
                organization_id=org, actor="test", watchlist_id=watchlist_id, **change
            )
            return await configuration.update_watchlist(session, command, now=NOW)

    async with transaction(sessions) as session:
        batch = Batch(organization_id=org, mention_ids=[mention_id], now=NOW, analyzer=analyzer)
        for stage in STAGES[: STAGES.index(store_hits) + 1]:
            await stage(session, batch)
        assert [m.id for m in batch.stored] == [mention_id]

        edited = await edit(keywords=["禾岚", "禾岚奶粉"])
        assert edited.ok, edited
        with pytest.raises(DBAPIError, match="lock timeout"):
            await edit(name="禾岚品牌")
