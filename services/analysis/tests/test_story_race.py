"""One story when two analysis workers place its first copies at the same instant.

Each worker reads the band-key index in its own transaction, so neither sees the story the
other is starting. The race is made deterministic: the first batch is analysed and left
uncommitted, the second starts and is seen waiting on the first's band-key claim, then
the first commits. Real PostgreSQL, two connections, the real analysis service.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import MentionIngested
from libs.database.engine import transaction
from libs.database.tables import MentionAnalysis, Story, StoryBand, StoryBandRecent, WatchlistHit
from libs.text import normalize
from services.analysis import service
from services.analysis.analyzer import Analyzer
from services.analysis.stories import band_keys, same_story, signature
from services.analysis.tests.builders import (
    CRISIS_REPORT,
    make_mention,
    make_organization,
    make_watchlist,
)
from services.analysis.textprep import prepare
from tests.fixtures.servers import Servers

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Shares two of its 40 band keys with CRISIS_REPORT, at an estimated Jaccard of 0.26: a
# candidate the threshold rejects.
OTHER_STORY = "禾岚启护3段奶粉罐里发现黑色异物，客服称是奶粉结块，建议消费者注意储存方式"


async def _store(
    sessions: async_sessionmaker[AsyncSession], texts: list[tuple[str, timedelta]]
) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """Store an organization watching 禾岚 and one mention per (text, age before NOW)."""
    async with transaction(sessions) as session:
        org = await make_organization(session)
        make_watchlist(session, org, "禾岚", ["禾岚"])
        mentions = [make_mention(session, org, body, NOW - age) for body, age in texts]
        await session.flush()
        return org, [m.id for m in mentions]


async def _backend_pid(session: AsyncSession) -> int:
    """Return the PostgreSQL backend serving the session's transaction."""
    pid = await session.scalar(text("SELECT pg_backend_pid()"))
    assert isinstance(pid, int)
    return pid


_BLOCKED_BY = text(
    """
    SELECT 1 FROM pg_stat_activity
    WHERE datname = current_database() AND CAST(:holder AS int) = ANY(pg_blocking_pids(pid))
    """
)


async def _waits_for(engine: AsyncEngine, holder: int, waiter: asyncio.Task[None]) -> None:
    """Return once another connection waits for the transaction of backend `holder`."""
    async with asyncio.timeout(60), engine.connect() as conn:
        # PostgreSQL has no event for a lock wait: ask until one shows. Each ask in a
        # transaction of its own: pg_stat_activity is read once per transaction, and a
        # waiter whose connection opened after the first ask would never show.
        while not (await conn.execute(_BLOCKED_BY, {"holder": holder})).first():
            await conn.rollback()
            assert not waiter.done(), "the second batch ended without waiting for the first"
            await asyncio.sleep(0.02)


async def _analyse(
    session: AsyncSession, analyzer: Analyzer, org: uuid.UUID, mention_ids: list[uuid.UUID]
) -> None:
    """Analyse stored mentions as one batch, as a worker would."""
    message = MentionIngested(organization_id=org, mention_ids=mention_ids)
    await service.analyze_mentions(session, analyzer, message, now=NOW)


async def _race(
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    analyzer: Analyzer,
    org: uuid.UUID,
    first: list[uuid.UUID],
    second: list[uuid.UUID],
) -> None:
    """Analyse `first`, start `second` before it commits, commit it once `second` waits."""

    async def analyse_second() -> None:
        async with transaction(sessions) as session:
            await _analyse(session, analyzer, org, second)

    waiting: asyncio.Task[None] | None = None
    try:
        async with transaction(sessions) as session:
            await _analyse(session, analyzer, org, first)
            holder = await _backend_pid(session)
            waiting = asyncio.create_task(analyse_second())
            # The one row both batches write is a band key: the second waits on its claim.
            await _waits_for(engine, holder, waiting)
    finally:
        if waiting is not None:
            await waiting


async def _stories(
    sessions: async_sessionmaker[AsyncSession], org: uuid.UUID
) -> tuple[dict[uuid.UUID, Story], dict[uuid.UUID, uuid.UUID | None], dict[uuid.UUID, int]]:
    """Return the organization's stories, each mention's story and each story's band keys."""
    tiers: tuple[type[StoryBand | StoryBandRecent], ...] = (StoryBand, StoryBandRecent)
    async with sessions() as session:
        stories = (await session.exec(select(Story).where(Story.organization_id == org))).all()
        analyses = (
            await session.exec(
                select(MentionAnalysis).where(MentionAnalysis.organization_id == org)
            )
        ).all()
        owners = [
            story_id
            for table in tiers
            for story_id in await session.exec(
                select(table.story_id).where(col(table.organization_id) == org)
            )
        ]
    counts: dict[uuid.UUID, int] = {}
    for story_id in owners:  # both tiers' keys
        counts[story_id] = counts.get(story_id, 0) + 1
    return {s.id: s for s in stories}, {a.mention_id: a.story_id for a in analyses}, counts


async def test_two_workers_starting_one_story_at_once_make_one_story(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    analyzer: Analyzer,
) -> None:
    # The second batch holds an earlier copy and a later one: both must end in the story
    # the first batch committed, which then counts all three and starts at the earliest.
    org, (committed, earlier, later) = await _store(
        sessions,
        [
            (f"【曝光】{CRISIS_REPORT}", timedelta(minutes=2)),
            (CRISIS_REPORT, timedelta(minutes=3)),
            (f"{CRISIS_REPORT}（第2位家长）", timedelta(minutes=1)),
        ],
    )

    await _race(sessions, engine, analyzer, org, [committed], [earlier, later])

    stories, story_of, bands = await _stories(sessions, org)
    assert len(stories) == 1, "two workers started two stories for one"
    (story,) = stories.values()
    assert story_of == {committed: story.id, earlier: story.id, later: story.id}
    assert story.mention_count == 3
    assert story.first_mention_id == earlier
    assert bands == {story.id: 40}
    async with sessions() as session:
        hits = (
            await session.exec(select(WatchlistHit).where(WatchlistHit.organization_id == org))
        ).all()
    assert len(hits) == 3 and {h.story_id for h in hits} == {story.id}


async def test_a_concurrent_story_that_only_shares_band_keys_stays_apart(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    analyzer: Analyzer,
) -> None:
    one, other = (signature(prepare(normalize(t)).matching) for t in (CRISIS_REPORT, OTHER_STORY))
    assert one is not None and other is not None
    shared = set(band_keys(one)) & set(band_keys(other))
    assert len(shared) == 2 and not same_story(one, other)
    org, (first, second) = await _store(
        sessions, [(CRISIS_REPORT, timedelta(minutes=2)), (OTHER_STORY, timedelta(minutes=1))]
    )

    await _race(sessions, engine, analyzer, org, [first], [second])

    stories, story_of, bands = await _stories(sessions, org)
    assert len(stories) == 2
    assert story_of[first] is not None and story_of[second] is not None
    assert story_of[first] != story_of[second]
    assert {s.mention_count for s in stories.values()} == {1}
    # The shared keys stay with the story that claimed them first.
    assert bands == {story_of[first]: 40, story_of[second]: 38}


async def test_one_batch_delivered_twice_at_once_leaves_no_empty_story(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    engine: AsyncEngine,
    analyzer: Analyzer,
) -> None:
    # A redelivery racing its first delivery: both see the mention unanalysed and start a
    # story; only one analysis is stored, so the other story would stay with no member.
    org, (mention,) = await _store(sessions, [(CRISIS_REPORT, timedelta(minutes=1))])

    await _race(sessions, engine, analyzer, org, [mention], [mention])

    stories, story_of, bands = await _stories(sessions, org)
    assert len(stories) == 1, "the redelivery left a story with no member"
    (story,) = stories.values()
    assert story_of == {mention: story.id}
    assert story.mention_count == 1 and bands == {story.id: 40}
