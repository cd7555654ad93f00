"""A rebuild and a batch counting the same organization's rollups take turns.

Without that, a batch committing between a rebuild's deletion of its days and its recount
is counted twice: once by its own upsert, into a row the deletion never saw, and again by
the recount, which sees its committed analysis.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database import rollups
from libs.database.engine import transaction
from libs.database.tables import Mention
from services.analysis.repository import writes
from services.analysis.tests.builders import (
    analysis_row,
    make_mention,
    make_organization,
    make_watchlist,
)
from tests.fixtures.servers import Servers

DAY = datetime(2026, 3, 1, tzinfo=UTC)

_BLOCKED_BY = text(
    """
    SELECT 1 FROM pg_stat_activity
    WHERE datname = current_database() AND CAST(:holder AS int) = ANY(pg_blocking_pids(pid))
    """
)


async def _windows(
    sessions: async_sessionmaker[AsyncSession], org: uuid.UUID
) -> dict[datetime, tuple[int, int]]:
    async with sessions() as session:
        result = await session.exec(  # type: ignore[call-overload]
            text(
                "SELECT bucket_at, mentions, harmful FROM watchlist_window_rollup "
                "WHERE organization_id = :org"
            ),
            params={"org": org},
        )
        return {row[0]: (row[1], row[2]) for row in result.all()}


async def test_a_batch_counting_during_a_rebuild_waits_and_counts_once(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine
) -> None:
    async with transaction(sessions) as session:
        org = await make_organization(session)
        watchlist = make_watchlist(session, org, "禾岚", ["禾岚"])
        counted = make_mention(session, org, "禾岚 一", DAY + timedelta(hours=10))
        # A quarter-hour no rollup row holds yet: nothing but the lock makes its count wait.
        late: Mention = make_mention(session, org, "禾岚 二", DAY + timedelta(hours=13, minutes=7))
        await session.flush()
        await writes.insert_analyses(session, [analysis_row(counted, [watchlist.id], "negative")])
        await writes.count_in_rollups(session, [counted.id])

    async def count_late() -> None:
        async with transaction(sessions) as session:
            await writes.insert_analyses(session, [analysis_row(late, [watchlist.id])])
            await writes.count_in_rollups(session, [late.id])

    counting: asyncio.Task[None] | None = None
    try:
        async with transaction(sessions) as session:
            await rollups.rebuild(session, org, DAY, DAY + timedelta(days=1))
            holder = (await session.exec(text("SELECT pg_backend_pid()"))).one()[0]  # type: ignore[call-overload]
            counting = asyncio.create_task(count_late())
            async with asyncio.timeout(60), engine.connect() as conn:
                # A transaction per ask: pg_stat_activity is read once per transaction.
                while not (await conn.execute(_BLOCKED_BY, {"holder": holder})).first():
                    await conn.rollback()
                    assert not counting.done(), "the batch counted past an open rebuild"
                    await asyncio.sleep(0.02)
    finally:
        if counting is not None:
            await counting

    assert await _windows(sessions, org) == {
        DAY + timedelta(hours=10): (1, 1),
        DAY + timedelta(hours=13): (1, 0),
    }
