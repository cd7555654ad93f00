"""What a tier decision reads: the window's statistics and the history before it."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import CrisisType
from libs.database.rollups import HARMFUL
from libs.database.tables import Watchlist
from services.analysis.influence import KOL_THRESHOLD
from services.analysis.repository.rows import HitRow, rows_json
from services.analysis.window import (
    NAMED,
    TOP_MENTIONS,
    WINDOW,
    History,
    StoryStats,
    WindowStats,
    history,
    history_end,
    history_ranges,
    window_bounds,
    window_counts,
    window_index,
)

# `window.harmful` in SQL (`libs.database.rollups.HARMFUL`, which the rollups count with).

# The one definition of the window's statistics, aggregated where the rows are, so a live
# decision costs one round trip however busy the window. `{hits}` is the relation the hits
# come from: the stored `watchlist_hit` table, or the rows a backtest replays. Ties break in
# code-point order (COLLATE "C"), so the result does not depend on the database's locale.
_WINDOW_STATS = """
    WITH win AS (
        SELECT * FROM {hits}
        WHERE watchlist_id = :watchlist_id
          AND posted_at >= :window_start AND posted_at <= :window_end
    ),
    neg AS (SELECT * FROM win WHERE sentiment = 'negative'),
    harm AS (SELECT * FROM win WHERE {harmful}),
    crisis AS (
        SELECT crisis_type, count(*) AS n FROM win WHERE crisis_type IS NOT NULL
        GROUP BY crisis_type ORDER BY n DESC, crisis_type COLLATE "C" LIMIT 1
    ),
    story AS (
        SELECT story_id, count(*) AS n, count(*) FILTER (WHERE {harmful}) AS nh,
               count(DISTINCT CASE WHEN sentiment = 'negative'
                                   THEN coalesce(author_id::text, mention_id::text) END) AS na
        FROM win WHERE story_id IS NOT NULL
        GROUP BY story_id ORDER BY na DESC, n DESC, story_id::text LIMIT 1
    )
    SELECT
        (SELECT count(*) FROM win) AS window_count,
        (SELECT count(*) FROM neg) AS negative_count,
        (SELECT count(*) FROM win WHERE posted_at >= :recent_start) AS recent_count,
        (SELECT count(*) FROM harm) AS harm_count,
        (SELECT count(*) FROM harm WHERE posted_at >= :recent_start) AS recent_harm_count,
        (SELECT count(*) FROM win WHERE sentiment = 'positive') AS positive_count,
        (SELECT coalesce(sum(f), 0) FROM (
            SELECT max(followers) AS f FROM win
            GROUP BY coalesce(author_id::text, 'mention:' || mention_id::text)) a) AS followers,
        (SELECT coalesce(sum(views), 0) FROM win) AS views,
        (SELECT coalesce(array_agg(h ORDER BY f DESC, h COLLATE "C"), '{}') FROM (
            SELECT author_handle AS h, max(followers) AS f FROM neg
            WHERE author_handle IS NOT NULL AND author_kind = 'media'
            GROUP BY author_handle ORDER BY f DESC, author_handle COLLATE "C" LIMIT :named
        ) m) AS media_authors,
        (SELECT coalesce(array_agg(h ORDER BY f DESC, h COLLATE "C"), '{}') FROM (
            SELECT author_handle AS h, max(followers) AS f FROM neg
            WHERE author_handle IS NOT NULL
              AND (author_kind = 'kol' OR (author_kind = 'user' AND influence >= :kol))
            GROUP BY author_handle ORDER BY f DESC, author_handle COLLATE "C" LIMIT :named
        ) k) AS kol_authors,
        (SELECT coalesce(max(sensitive_score), 0) FROM neg WHERE sensitive_score > 0)
            AS sensitive_max,
        (SELECT count(*) FROM neg WHERE sensitive_score > 0) AS sensitive_mentions,
        (SELECT coalesce(array_agg(t ORDER BY n DESC, t COLLATE "C"), '{}') FROM (
            SELECT t, count(*) AS n FROM neg, unnest(sensitive_terms) AS t
            WHERE sensitive_score > 0
            GROUP BY t ORDER BY n DESC, t COLLATE "C" LIMIT :named
        ) s) AS sensitive_terms,
        (SELECT crisis_type FROM crisis) AS crisis_type,
        (SELECT n FROM crisis) AS crisis_mentions,
        (SELECT coalesce(array_agg(e || '×' || n ORDER BY n DESC, e COLLATE "C"), '{}') FROM (
            SELECT e, count(*) AS n FROM win, unnest(crisis_evidence) AS e
            WHERE crisis_type = (SELECT crisis_type FROM crisis)
            GROUP BY e ORDER BY n DESC, e COLLATE "C" LIMIT :named
        ) c) AS crisis_evidence,
        (SELECT story_id FROM story) AS story_id,
        (SELECT n FROM story) AS story_count,
        (SELECT nh FROM story) AS story_harm_count,
        (SELECT na FROM story) AS story_negative_authors,
        (SELECT coalesce(array_agg(mention_id ORDER BY r DESC, posted_at DESC,
                                   mention_id::text), '{}') FROM (
            SELECT mention_id, posted_at, followers + views AS r FROM win
            ORDER BY r DESC, posted_at DESC, mention_id::text LIMIT :top
        ) t) AS top_mention_ids
"""
_STATS = _WINDOW_STATS.replace("{harmful}", HARMFUL)
_STORED = text(_STATS.replace("{hits}", "watchlist_hit"))
_REPLAYED = text(
    _STATS.replace("{hits}", "json_populate_recordset(NULL::watchlist_hit, CAST(:rows AS json))")
)


_COUNTS = (
    "window_count",
    "negative_count",
    "recent_count",
    "harm_count",
    "recent_harm_count",
    "positive_count",
    "followers",
    "views",
    "sensitive_mentions",
)
"""The window's whole-number figures, as the statement names them and `WindowStats` too."""


async def window_stats(
    session: AsyncSession,
    watchlist_id: uuid.UUID,
    now: datetime,
    past: History,
    *,
    replayed: Sequence[HitRow] | None = None,
    last_spike_at: datetime | None = None,
    last_spike_count: int | None = None,
) -> WindowStats:
    """Summarise the watchlist's hits in the window ending at `now` in one query.

    The hits are the stored ones, or `replayed` ones when a backtest passes them (they are
    read from the statement's parameter; nothing is written).
    """
    _, window_start, recent_start, window_end = window_bounds(now)
    params: dict[str, Any] = {
        "watchlist_id": watchlist_id,
        "window_start": window_start,
        "window_end": window_end,
        "recent_start": recent_start,
        "kol": KOL_THRESHOLD,
        "named": NAMED,
        "top": TOP_MENTIONS,
    }
    if replayed is not None:
        params["rows"] = rows_json(replayed)
    result = await session.exec(
        _STORED if replayed is None else _REPLAYED,  # type: ignore[call-overload]
        params=params,
    )
    row = result.one()
    story = (
        StoryStats(
            row.story_id,
            int(row.story_count),
            int(row.story_negative_authors),
            int(row.story_harm_count),
        )
        if row.story_id is not None
        else None
    )
    # PostgreSQL sums come back as numerics; every count the statement returns is a whole one.
    counts: dict[str, Any] = {name: int(getattr(row, name)) for name in _COUNTS}
    return WindowStats(
        window_start=window_start,
        window_end=window_end,
        history=past,
        **counts,
        media_authors=tuple(row.media_authors),
        kol_authors=tuple(row.kol_authors),
        sensitive_max=float(row.sensitive_max),
        sensitive_terms=tuple(row.sensitive_terms),
        crisis_type=CrisisType(row.crisis_type) if row.crisis_type else None,
        crisis_mentions=int(row.crisis_mentions or 0),
        crisis_evidence=tuple(row.crisis_evidence),
        top_story=story,
        top_mention_ids=tuple(uuid.UUID(str(i)) for i in row.top_mention_ids),
        windows_since_spike=window_index(last_spike_at, now) if last_spike_at else None,
        last_spike_count=last_spike_count,
    )


# Mentions and harmful mentions per history window (`window.history_index`: the quarter-hour
# buckets before `window.history_end`), over the last 24 hours and the same slot on each of
# the previous days (`window.history_ranges`); and the first mention, where the history
# starts. A watchlist's come from its rows of `watchlist_window_rollup`; a story's, which no
# rollup keeps, from its analyses.
_FIRST = "SELECT NULL::int AS idx, 0::bigint AS n, 0::bigint AS harm, ({first}) AS first_at"
_WATCHLIST_WINDOWS = """
    SELECT (extract(epoch FROM (:history_end - bucket_at)) / CAST(:seconds AS integer))::int,
           mentions, harmful, NULL
    FROM watchlist_window_rollup
    WHERE organization_id = :organization_id AND watchlist_id = :key AND ({spans})
"""
_STORY_WINDOWS = f"""
    SELECT ceil(extract(epoch FROM (:history_end - posted_at)) / CAST(:seconds AS integer))::int,
           count(*), count(*) FILTER (WHERE {HARMFUL}), NULL
    FROM mention_analysis
    WHERE story_id = :key AND ({{spans}})
    GROUP BY 1
"""
_SPAN = "({column} >= :span_start_{n} AND {column} < :span_end_{n})"


async def _history(
    session: AsyncSession,
    statement: str,
    column: str,
    params: dict[str, Any],
    spans: Sequence[tuple[datetime, datetime]],
    now: datetime,
) -> tuple[dict[int, tuple[int, int]], datetime | None]:
    params = {**params, "history_end": history_end(now), "seconds": int(WINDOW.total_seconds())}
    for n, (start, end) in enumerate(spans):
        params[f"span_start_{n}"], params[f"span_end_{n}"] = start, end
    covered = " OR ".join(_SPAN.format(column=column, n=n) for n in range(len(spans)))
    result = await session.exec(
        text(statement.format(spans=covered)),  # type: ignore[call-overload]
        params=params,
    )
    counts: dict[int, tuple[int, int]] = {}
    first_at: datetime | None = None
    for row in result:
        if row.idx is None:
            first_at = row.first_at
        else:
            counts[int(row.idx)] = (int(row.n), int(row.harm))
    return counts, first_at


async def watchlist_history(
    session: AsyncSession,
    watchlist: Watchlist,
    now: datetime,
    uncounted: Iterable[tuple[datetime, bool]] = (),
) -> History:
    """Return the watchlist's history before the window ending at `now`, since its first hit
    (its first quarter-hour, so the history outlives the raw mentions' retention).

    `uncounted` are (posting time, harmful) of hits this transaction stored but has not yet
    added to the rollups (the pipeline counts them last, `stages.count_in_rollups`).
    """
    # The first quarter-hour stands for the first mention: both have the same window index,
    # and the rollup keeps it after retention has removed the mention.
    first = (
        "SELECT min(bucket_at) FROM watchlist_window_rollup "
        "WHERE organization_id = :organization_id AND watchlist_id = :key"
    )
    uncounted = list(uncounted)
    counts, first_at = await _history(
        session,
        f"{_FIRST.format(first=first)} UNION ALL {_WATCHLIST_WINDOWS}",
        "bucket_at",
        {"key": watchlist.id, "organization_id": watchlist.organization_id},
        history_ranges(now),
        now,
    )
    for index, (volume, harm) in window_counts(uncounted, now).items():
        known, known_harm = counts.get(index, (0, 0))
        counts[index] = (known + volume, known_harm + harm)
    first_at = min([at for at, _ in uncounted] + ([first_at] if first_at else []), default=None)
    return history(counts, first_at, now)


async def story_series(
    session: AsyncSession, story_id: uuid.UUID, now: datetime, length: int
) -> tuple[int, ...]:
    """Return the story's harmful mentions per window over the last `length` windows."""
    counts, _ = await _history(
        session,
        f"{_FIRST.format(first='SELECT NULL::timestamptz')} UNION ALL {_STORY_WINDOWS}",
        "posted_at",
        {"key": story_id},
        history_ranges(now)[:1],
        now,
    )
    return tuple(counts.get(i, (0, 0))[1] for i in range(length, 0, -1))


async def read_window(
    session: AsyncSession,
    watchlist: Watchlist,
    now: datetime,
    uncounted: Iterable[tuple[datetime, bool]] = (),
) -> WindowStats:
    """Read everything a tier decision on `watchlist` at `now` needs: window, history, story.

    The one way a watchlist's window is read live, whether mentions just arrived (their
    hits `uncounted` in the rollups yet) or the watchlist is re-scored because time passed.
    """
    stats = await window_stats(
        session,
        watchlist.id,
        now,
        await watchlist_history(session, watchlist, now, uncounted),
        last_spike_at=watchlist.last_spike_at,
        last_spike_count=watchlist.last_spike_count,
    )
    if stats.top_story is None:
        return stats
    length = len(stats.history.harm)
    return stats.with_story_baseline(
        await story_series(session, stats.top_story.story_id, now, length)
    )
