"""GIN pending lists: the workers' loop empties them, and knows every GIN index there is."""

import asyncio
import logging
import secrets
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from libs.contracts.enums import Sentiment
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.tables._types import GIN_PENDING_LIST_LIMIT_KB
from libs.pending_lists import INDEXES, PendingListCleaner, clean_pending_lists
from tests.builders import Sessions, organization, until, watchlist
from tests.fixtures.servers import Servers, _asyncpg_dsn

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


async def test_every_gin_index_has_the_raised_limit_and_is_emptied_by_the_loop(
    sessions: Sessions,
) -> None:
    async with sessions() as session:
        rows = (
            await session.exec(
                text(
                    "SELECT c.relname, c.reloptions FROM pg_class c "
                    "JOIN pg_am a ON a.oid = c.relam "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE a.amname = 'gin' AND n.nspname = 'public'"
                )  # type: ignore[call-overload]
            )
        ).all()
    options = {name: reloptions for name, reloptions in rows}
    assert set(options) == set(INDEXES)
    for name in INDEXES:
        assert f"gin_pending_list_limit={GIN_PENDING_LIST_LIMIT_KB}" in options[name], name


async def test_a_pass_moves_the_pending_entries_into_the_index_and_search_still_finds_them(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
        watched = await watchlist(session, org, "奶粉")
    emptied: dict[str, int] = {}
    for _ in range(3):
        # Autovacuum empties pending lists too: one landing between the inserts and the pass
        # leaves the pass nothing, so the inserts and the pass are tried again.
        await clean_pending_lists(sessions)
        async with transaction(sessions) as session:
            for n in range(30):
                row = await builders.mention(
                    session,
                    org.id,
                    posted_at=T0 + timedelta(minutes=n),
                    text=f"禾元奶粉第{n}批次出现结块问题",
                )
                await builders.analysis(session, row, Sentiment.NEGATIVE, [watched])
        emptied = await clean_pending_lists(sessions)
        if all(emptied.values()):
            break
    again = await clean_pending_lists(sessions)

    assert all(emptied[name] > 0 for name in INDEXES), emptied
    assert again == dict.fromkeys(INDEXES, 0)
    async with sessions() as session:
        count = await _count(
            session, "SELECT count(*) FROM mention WHERE organization_id = :org", org=org.id
        )
        await session.exec(text("SET LOCAL enable_seqscan = off"))  # type: ignore[call-overload]
        found = await _count(
            session,
            "SELECT count(*) FROM mention WHERE organization_id = :org "
            "AND text_bigrams(text) @> text_bigrams('结块问题')",
            org=org.id,
        )
        hits = await _count(
            session,
            "SELECT count(*) FROM mention_analysis WHERE watchlist_ids @> ARRAY[CAST(:w AS uuid)]",
            w=watched.id,
        )
    assert found == hits == count


async def test_a_role_that_does_not_own_the_indexes_is_told_once_and_the_loop_stops(
    servers: Servers, caplog: pytest.LogCaptureFixture
) -> None:
    role = f"cw_not_owner_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(_asyncpg_dsn(servers.database_url))
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    engine = create_engine(
        make_url(servers.database_url).set(username=role).render_as_string(hide_password=False),
        pool_size=1,
    )
    try:
        cleaner = PendingListCleaner(session_factory(engine), interval=0.05)
        with caplog.at_level(logging.WARNING, logger="libs.pending_lists"):
            cleaner.start()
            await until(lambda: cleaner.refused)
            await asyncio.sleep(0.3)  # several more intervals
            await cleaner.stop()
        told = [r for r in caplog.records if "does not own the indexes" in r.getMessage()]
        assert len(told) == 1
    finally:
        await engine.dispose()
        await admin.execute(f'DROP ROLE "{role}"')
        await admin.close()


async def _count(session: AsyncSession, sql: str, **params: object) -> int:
    """One `count(*)` query's answer."""
    result = await session.exec(text(sql), params=params)  # type: ignore[call-overload]
    return int(result.scalar_one())
