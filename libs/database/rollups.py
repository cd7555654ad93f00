"""The SQL that keeps the rollups (`tables.rollups`) equal to a recount of the raw tables.

Three ways change them, all additive over the same grouping of raw rows, so the three can
never disagree on what a mention contributes:

- `count_analysed` adds mentions whose analysis the caller's transaction just stored;
- `uncount` subtracts mentions about to be deleted, in the deleting transaction;
- `rebuild` recounts an organization's whole UTC days from the raw tables (after a bulk
  load, or a deletion that did not subtract), then its authors' all-time figures.

A drill's mention (`m.drill_id` set) counts only in its own drill watchlist's rows: never in
the organization's row (`EVERY_MENTION`), so figures of the whole organization are real
talk, and never in the author rollups, since a drill's authors are invented. The rule lives
in the statements themselves, so counting, uncounting and rebuilding apply it alike.

Upserts go in key order, so two transactions that touch the same rows lock them in the same
order and never deadlock; the rows of the current minute are hot, so the analysis pipeline
adds them in the last statement before it commits, holding their locks briefly.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Final

from sqlalchemy import CursorResult, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.database.tables.rollups import EVERY_MENTION

GRAINS: Final = (60, 900, 3600)
"""The bucket widths kept, in seconds: a minute, a quarter of an hour, an hour."""

ORIGIN: Final = datetime(2000, 1, 3, tzinfo=UTC)
"""Where every grain's buckets start counting from (a Monday, midnight UTC)."""

DECISION_WINDOW: Final = 900
"""The width in seconds of `watchlist_window_rollup`'s buckets: a tier decision's window."""


# An analysis that can hurt: negative, or carrying a sensitive term (as
# `services.analysis.window.harmful` says it, and a tier decision's history counts it). The
# one SQL form of it: unqualified, since only the analysis (and the hit, its copy) has these
# columns, so it reads the same over `mention_analysis` joined to `mention` and over hits.
HARMFUL: Final = "(sentiment = 'negative' OR sensitive_score > 0)"

# The analysed mentions a statement counts; its `{where}` picks them (by id, or a time range).
_ANALYSED = """
    FROM mention m
    JOIN mention_analysis a ON a.mention_id = m.id
"""

_MENTION_ROLLUP = f"""
    INSERT INTO mention_rollup AS r (
        organization_id, watchlist_id, grain_seconds, bucket_at, source,
        positive, neutral, negative, sentiment_score_sum, reach, engagement)
    SELECT m.organization_id, w.watchlist_id, g.grain,
           date_bin(make_interval(secs => g.grain), m.posted_at, CAST(:origin AS timestamptz)),
           m.source,
           CAST(:sign AS integer) * count(*) FILTER (WHERE a.sentiment = 'positive'),
           CAST(:sign AS integer) * count(*) FILTER (WHERE a.sentiment = 'neutral'),
           CAST(:sign AS integer) * count(*) FILTER (WHERE a.sentiment = 'negative'),
           CAST(:sign AS integer) * sum(a.sentiment_score),
           CAST(:sign AS integer) * sum(m.views::bigint),
           CAST(:sign AS integer) * sum(m.reposts::bigint + m.comments + m.likes)
    {_ANALYSED}
    CROSS JOIN LATERAL (
        SELECT DISTINCT unnest(
            CASE WHEN m.drill_id IS NULL THEN a.watchlist_ids || CAST(:every AS uuid)
                 ELSE a.watchlist_ids END
        ) AS watchlist_id
    ) w
    CROSS JOIN unnest(CAST(:grains AS smallint[])) AS g(grain)
    WHERE {{where}}
    GROUP BY 1, 2, 3, 4, 5
    ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (organization_id, watchlist_id, grain_seconds, bucket_at, source) DO UPDATE SET
        positive = r.positive + excluded.positive,
        neutral = r.neutral + excluded.neutral,
        negative = r.negative + excluded.negative,
        sentiment_score_sum = r.sentiment_score_sum + excluded.sentiment_score_sum,
        reach = r.reach + excluded.reach,
        engagement = r.engagement + excluded.engagement
"""

# A watchlist's mentions and harmful ones per quarter-hour, for tier decisions' history. Only
# watchlists: the organization's row (`EVERY_MENTION`) decides nothing.
_WINDOW_ROLLUP = f"""
    INSERT INTO watchlist_window_rollup AS r (
        organization_id, watchlist_id, bucket_at, mentions, harmful)
    SELECT m.organization_id, w.watchlist_id,
           date_bin(make_interval(secs => CAST(:window AS integer)), m.posted_at,
                    CAST(:origin AS timestamptz)),
           CAST(:sign AS integer) * count(*),
           CAST(:sign AS integer) * count(*) FILTER (WHERE {HARMFUL})
    {_ANALYSED}
    CROSS JOIN LATERAL (SELECT DISTINCT unnest(a.watchlist_ids) AS watchlist_id) w
    WHERE {{where}}
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
    ON CONFLICT (organization_id, watchlist_id, bucket_at) DO UPDATE SET
        mentions = r.mentions + excluded.mentions,
        harmful = r.harmful + excluded.harmful
"""

# `{table}` is author_day_rollup (grouped by `{day}`, the UTC day) or author_rollup (all time).
_AUTHOR_ROLLUP = f"""
    INSERT INTO {{table}} AS r (
        organization_id, author_id{{day_column}}, mention_count, negative_count, reach,
        engagement, influence, last_posted_at)
    SELECT m.organization_id, m.author_id{{day}},
           CAST(:sign AS integer) * count(*),
           CAST(:sign AS integer) * count(*) FILTER (WHERE a.sentiment = 'negative'),
           CAST(:sign AS integer) * sum(m.views::bigint),
           CAST(:sign AS integer) * sum(m.reposts::bigint + m.comments + m.likes),
           max(a.influence),
           max(m.posted_at)
    {_ANALYSED}
    WHERE {{where}} AND m.author_id IS NOT NULL AND m.drill_id IS NULL
    GROUP BY 1, 2{{day_group}}
    ORDER BY 1, 2{{day_group}}
    ON CONFLICT (organization_id, author_id{{day_column}}) DO UPDATE SET
        mention_count = r.mention_count + excluded.mention_count,
        negative_count = r.negative_count + excluded.negative_count,
        reach = r.reach + excluded.reach,
        engagement = r.engagement + excluded.engagement,
        influence = CASE WHEN CAST(:sign AS integer) > 0
                         THEN greatest(r.influence, excluded.influence)
                         ELSE r.influence END,
        last_posted_at = CASE WHEN CAST(:sign AS integer) > 0
                              THEN greatest(r.last_posted_at, excluded.last_posted_at)
                              ELSE r.last_posted_at END
"""


def _author_statement(table: str, where: str) -> str:
    by_day = table == "author_day_rollup"
    return _AUTHOR_ROLLUP.format(
        table=table,
        day_column=", day" if by_day else "",
        day=", (m.posted_at AT TIME ZONE 'UTC')::date" if by_day else "",
        day_group=", 3" if by_day else "",
        where=where,
    )


_BY_ID = "m.id = ANY(CAST(:ids AS uuid[]))"
_IN_RANGE = "m.organization_id = :organization_id AND m.posted_at >= :start AND m.posted_at < :end"

# Rows a subtraction left at zero count nothing: removed, so a rollup equals a fresh recount.
_DROP_EMPTY = (
    "DELETE FROM mention_rollup WHERE organization_id = ANY(CAST(:organizations AS uuid[])) "
    "AND positive = 0 AND neutral = 0 AND negative = 0",
    "DELETE FROM author_day_rollup WHERE organization_id = ANY(CAST(:organizations AS uuid[])) "
    "AND mention_count = 0",
    "DELETE FROM author_rollup WHERE organization_id = ANY(CAST(:organizations AS uuid[])) "
    "AND mention_count = 0",
    "DELETE FROM watchlist_window_rollup "
    "WHERE organization_id = ANY(CAST(:organizations AS uuid[])) AND mentions = 0",
)


# Counting and rebuilding an organization's rollups exclude each other for the transaction
# (an advisory lock on the organization: shared to count, exclusive to rebuild). A rebuild
# deletes its days, then recounts the analyses committed by then: a batch committing in
# between would have its count, into a row the deletion never saw, added to again by the
# recount. With the lock a batch waits for the rebuild, and counts itself after it.
_LOCK_SPACE: Final = 0x726F6C6C  # "roll": the first of the two 32-bit advisory lock keys
_LOCK_TO_COUNT = """
    SELECT pg_advisory_xact_lock_shared(CAST(:space AS integer), o)
    FROM (SELECT DISTINCT hashtext(CAST(organization_id AS text)) AS o FROM mention
          WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY 1) organizations
"""
_LOCK_TO_REBUILD = (
    "SELECT pg_advisory_xact_lock(CAST(:space AS integer), "
    "hashtext(CAST(CAST(:organization_id AS uuid) AS text)))"
)


async def _lock_to_rebuild(session: AsyncSession, organization_id: uuid.UUID) -> None:
    """Wait for the organization's batches being counted; hold new ones until commit."""
    await _execute(
        session, _LOCK_TO_REBUILD, {"space": _LOCK_SPACE, "organization_id": organization_id}
    )


def _parameters(sign: int, **more: Any) -> dict[str, Any]:
    return {
        "sign": sign,
        "origin": ORIGIN,
        "every": EVERY_MENTION,
        "grains": list(GRAINS),
        "window": DECISION_WINDOW,
        **more,
    }


async def _execute(
    session: AsyncSession, statement: str, parameters: dict[str, Any]
) -> CursorResult[Any]:
    # On the session's connection: sqlmodel's session wants `exec`, whose typing knows no
    # plain textual statement with parameters.
    connection = await session.connection()
    return await connection.execute(text(statement), parameters)


async def _apply(session: AsyncSession, mention_ids: list[uuid.UUID], sign: int) -> None:
    ids = sorted(set(mention_ids))
    if not ids:
        return
    await _execute(session, _LOCK_TO_COUNT, {"space": _LOCK_SPACE, "ids": ids})
    parameters = _parameters(sign, ids=ids)
    await _execute(session, _MENTION_ROLLUP.format(where=_BY_ID), parameters)
    await _execute(session, _WINDOW_ROLLUP.format(where=_BY_ID), parameters)
    for table in ("author_day_rollup", "author_rollup"):
        await _execute(session, _author_statement(table, _BY_ID), parameters)


async def count_analysed(session: AsyncSession, mention_ids: list[uuid.UUID]) -> None:
    """Add these mentions, whose analyses this transaction stored, to every rollup."""
    await _apply(session, mention_ids, 1)


async def uncount(session: AsyncSession, mention_ids: list[uuid.UUID]) -> None:
    """Subtract these analysed mentions from every rollup, before the caller deletes them.

    Call it in the deleting transaction; mentions without an analysis count nowhere and
    are skipped. Maxima (influence, last post) stay as upper bounds until a rebuild.
    """
    ids = sorted(set(mention_ids))
    if not ids:
        return
    organizations = await _execute(
        session,
        "SELECT DISTINCT organization_id FROM mention WHERE id = ANY(CAST(:ids AS uuid[]))",
        {"ids": ids},
    )
    await _apply(session, ids, -1)
    touched = sorted(row[0] for row in organizations.all())
    for statement in _DROP_EMPTY:
        await _execute(session, statement, {"organizations": touched})


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild recounted: the whole UTC days it covered and the rows it wrote."""

    start: datetime
    end: datetime
    bucket_rows: int
    author_day_rows: int


def whole_days(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """Return the UTC midnights around [since, until): a rebuild recounts whole days."""
    first = datetime.combine(since.astimezone(UTC).date(), time(), UTC)
    last = datetime.combine(until.astimezone(UTC).date(), time(), UTC)
    return first, last if last >= until else last + timedelta(days=1)


async def _count(session: AsyncSession, statement: str, parameters: dict[str, Any]) -> int:
    return int((await _execute(session, statement, parameters)).scalar_one())


_BUCKETS_IN_RANGE = (
    "FROM mention_rollup WHERE organization_id = :organization_id "
    "AND bucket_at >= :start AND bucket_at < :end"
)
_WINDOWS_IN_RANGE = (
    "FROM watchlist_window_rollup WHERE organization_id = :organization_id "
    "AND bucket_at >= :start AND bucket_at < :end"
)
_DAYS_IN_RANGE = (
    "FROM author_day_rollup WHERE organization_id = :organization_id "
    "AND day >= CAST(:start_day AS date) AND day < CAST(:end_day AS date)"
)


async def rebuild_days(
    session: AsyncSession, organization_id: uuid.UUID, since: datetime, until: datetime
) -> Rebuilt:
    """Recount an organization's buckets and author days over the UTC days holding
    [since, until) from the raw rows; `rebuild_author_totals` then sums the days again.

    Safe while analyses are stored: it first waits for the organization's batches being
    counted to commit, and the batches that reach their count meanwhile wait for it, then
    add to the recounted rows. Rebuild a day per transaction to keep that wait short.
    """
    await _lock_to_rebuild(session, organization_id)
    start, end = whole_days(since, until)
    scope = {
        "organization_id": organization_id,
        "start": start,
        "end": end,
        "start_day": start.date(),
        "end_day": end.date(),
    }
    await _execute(session, f"DELETE {_BUCKETS_IN_RANGE}", scope)
    await _execute(session, f"DELETE {_WINDOWS_IN_RANGE}", scope)
    await _execute(session, f"DELETE {_DAYS_IN_RANGE}", scope)
    parameters = _parameters(1, **scope)
    await _execute(session, _MENTION_ROLLUP.format(where=_IN_RANGE), parameters)
    await _execute(session, _WINDOW_ROLLUP.format(where=_IN_RANGE), parameters)
    await _execute(session, _author_statement("author_day_rollup", _IN_RANGE), parameters)
    return Rebuilt(
        start,
        end,
        await _count(session, f"SELECT count(*) {_BUCKETS_IN_RANGE}", scope),
        await _count(session, f"SELECT count(*) {_DAYS_IN_RANGE}", scope),
    )


async def rebuild_author_totals(session: AsyncSession, organization_id: uuid.UUID) -> int:
    """Sum every author's days again into their all-time figures; return the authors."""
    await _lock_to_rebuild(session, organization_id)
    scope = {"organization_id": organization_id}
    await _execute(
        session, "DELETE FROM author_rollup WHERE organization_id = :organization_id", scope
    )
    await _execute(
        session,
        """
        INSERT INTO author_rollup (organization_id, author_id, mention_count, negative_count,
                                   reach, engagement, influence, last_posted_at)
        SELECT organization_id, author_id, sum(mention_count), sum(negative_count), sum(reach),
               sum(engagement), max(influence), max(last_posted_at)
        FROM author_day_rollup WHERE organization_id = :organization_id
        GROUP BY organization_id, author_id
        ORDER BY organization_id, author_id
        """,
        scope,
    )
    return await _count(
        session,
        "SELECT count(*) FROM author_rollup WHERE organization_id = :organization_id",
        scope,
    )


ROLLUP_TABLES: Final = (
    "mention_rollup",
    "watchlist_window_rollup",
    "author_day_rollup",
    "author_rollup",
)


async def analyze(session: AsyncSession) -> None:
    """Refresh the planner's statistics of the rollup tables after a recount.

    A rebuild rewrites days of rows at once; until autovacuum samples them again the planner
    may take a day's thousands of author rows for a few hundred, and read every author of a
    month to find a handful (0.7 s instead of 30 ms at ten million mentions).
    """
    for table in ROLLUP_TABLES:
        await session.execute(text(f"ANALYZE {table}"))


async def rebuild(
    session: AsyncSession, organization_id: uuid.UUID, since: datetime, until: datetime
) -> Rebuilt:
    """Recount the days holding [since, until) and the author totals, in one transaction."""
    rebuilt = await rebuild_days(session, organization_id, since, until)
    await rebuild_author_totals(session, organization_id)
    return rebuilt
