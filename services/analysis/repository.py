"""Queries of the analysis service: one per step, so a batch costs a fixed number of trips."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Mention, MentionAnalysis, Watchlist
from services.analysis.risk import WindowStats, window_bounds

# How many media and KOL handles a signal names; more would not help a reader.
NAMED_AUTHORS = 5
TOP_MENTIONS = 10


@dataclass(frozen=True)
class PendingMention:
    """A stored mention that has no analysis yet."""

    id: uuid.UUID
    text_normalized: str


async def pending_mentions(
    session: AsyncSession, organization_id: uuid.UUID, mention_ids: Sequence[uuid.UUID]
) -> list[PendingMention]:
    """Load the organization's mentions among `mention_ids` that were never analysed."""
    result = await session.exec(
        select(Mention.id, Mention.text_normalized)
        .outerjoin(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(
            Mention.organization_id == organization_id,
            col(Mention.id).in_(mention_ids),
            col(MentionAnalysis.mention_id).is_(None),
        )
    )
    return [PendingMention(id=mention_id, text_normalized=text) for mention_id, text in result]


async def watchlists(session: AsyncSession, organization_id: uuid.UUID) -> list[Watchlist]:
    """Load every watchlist of the organization."""
    result = await session.exec(
        select(Watchlist)
        .where(Watchlist.organization_id == organization_id)
        .order_by(col(Watchlist.id))
    )
    return list(result.all())


async def insert_analyses(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert analyses in one statement; return the mention ids this call actually stored."""
    if not rows:
        return set()
    result = await session.exec(
        insert(MentionAnalysis)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["mention_id"])
        .returning(col(MentionAnalysis.mention_id))
    )
    return {row[0] for row in result}


async def lock_watchlists(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Watchlist]:
    """Lock watchlists whose tier is about to be decided, in id order to avoid deadlocks.

    Two batches for the same watchlist then decide one after the other, and the second
    reads the tier (and the analyses) the first committed.
    """
    if not ids:
        return []
    result = await session.exec(
        select(Watchlist)
        .where(col(Watchlist.id).in_(ids))
        .order_by(col(Watchlist.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(result.all())


_WINDOW_STATS = text(
    """
    WITH matched AS (
        SELECT m.id, m.posted_at, m.views, m.author_id, a.sentiment
        FROM mention_analysis a
        JOIN mention m ON m.id = a.mention_id
        WHERE a.organization_id = :organization_id
          AND a.watchlist_ids @> ARRAY[CAST(:watchlist_id AS uuid)]
          AND m.posted_at >= :baseline_start
          AND m.posted_at <= :window_end
    ),
    win AS (
        SELECT matched.*, coalesce(au.followers, 0) AS followers,
               au.kind AS author_kind, au.handle AS author_handle
        FROM matched
        LEFT JOIN author au ON au.id = matched.author_id
        WHERE matched.posted_at >= :window_start
    )
    SELECT
        (SELECT count(*) FROM win) AS window_count,
        (SELECT count(*) FROM win WHERE sentiment = 'negative') AS negative_count,
        (SELECT count(*) FROM win WHERE posted_at >= :recent_start) AS recent_count,
        (SELECT count(*) FROM matched WHERE posted_at < :window_start) AS baseline_count,
        (SELECT coalesce(sum(views), 0) FROM win) AS views,
        (SELECT coalesce(sum(followers), 0)
           FROM (SELECT DISTINCT author_id, followers FROM win
                 WHERE author_id IS NOT NULL) d) AS followers,
        (SELECT coalesce(array_agg(author_handle ORDER BY followers DESC), '{}')
           FROM (SELECT DISTINCT author_handle, followers FROM win
                 WHERE author_kind = 'media' AND sentiment = 'negative'
                 ORDER BY followers DESC LIMIT :named) h) AS media_authors,
        (SELECT coalesce(array_agg(author_handle ORDER BY followers DESC), '{}')
           FROM (SELECT DISTINCT author_handle, followers FROM win
                 WHERE author_kind = 'kol' AND sentiment = 'negative'
                 ORDER BY followers DESC LIMIT :named) h) AS kol_authors,
        (SELECT coalesce(array_agg(id ORDER BY reach DESC, posted_at DESC), '{}')
           FROM (SELECT id, posted_at, followers + views AS reach FROM win
                 ORDER BY reach DESC, posted_at DESC LIMIT :top) t) AS top_mention_ids
    """
)


async def window_stats(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID, now: datetime
) -> WindowStats:
    """Gather, in one query, the counts the risk model needs for a watchlist at `now`."""
    baseline_start, window_start, recent_start, window_end = window_bounds(now)
    result = await session.exec(
        _WINDOW_STATS,  # type: ignore[call-overload]
        params={
            "organization_id": organization_id,
            "watchlist_id": watchlist_id,
            "baseline_start": baseline_start,
            "window_start": window_start,
            "recent_start": recent_start,
            "window_end": window_end,
            "named": NAMED_AUTHORS,
            "top": TOP_MENTIONS,
        },
    )
    row = result.one()
    return WindowStats(
        window_start=window_start,
        window_end=window_end,
        window_count=int(row.window_count),
        negative_count=int(row.negative_count),
        recent_count=int(row.recent_count),
        baseline_count=int(row.baseline_count),
        followers=int(row.followers),
        views=int(row.views),
        media_authors=tuple(row.media_authors),
        kol_authors=tuple(row.kol_authors),
        top_mention_ids=tuple(uuid.UUID(str(i)) for i in row.top_mention_ids),
    )


async def insert_watchlist(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    keywords: list[str],
    now: datetime,
) -> Watchlist | None:
    """Insert a watchlist; return None when the organization already has one of that name."""
    watchlist = Watchlist(
        id=uuid.uuid4(),
        organization_id=organization_id,
        name=name,
        keywords=keywords,
        created_at=now,
    )
    # ON CONFLICT rather than a prior lookup: two concurrent creations cannot both win.
    result = await session.exec(
        insert(Watchlist)
        .values(
            id=watchlist.id,
            organization_id=organization_id,
            name=name,
            keywords=keywords,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "name"])
        .returning(col(Watchlist.id))
    )
    return watchlist if result.first() is not None else None
