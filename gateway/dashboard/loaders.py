"""The SQL behind the dashboard: every figure is counted by PostgreSQL in one query.

All queries are scoped to one organization and a time window [since, until); with a
watchlist, only mentions analysis matched to it (and incidents on it) are counted.
Volume buckets start on whole multiples of the bucket width from an origin (midnight UTC,
moved by the client's UTC offset), so the first and last bucket may reach outside the
window; they count only what is inside.

Volume and share of voice read the rollups (`libs.database.rollups`), never a scan of the
window's mentions: the inside of the window from rollup buckets, its first and last
seconds from the raw rows (`libs.database.rollup_windows`).

Drills are left out unless the scope includes them: the rollups never count a drill's
mention in the organization's row, so the raw rows at the edges leave it out too, and share
of voice and platforms skip drill watchlists. Including drills adds their watchlists' rows;
a dashboard asked for one watchlist counts that watchlist's, a drill's too.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, func, or_, text
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.predicates import OPEN_STATUSES
from libs.contracts.enums import TaskStatus
from libs.database import tables
from libs.database.mention_window import Scope, TermRow
from libs.database.mention_window import rows as _rows
from libs.database.predicates import task_overdue
from libs.database.rollup_windows import coarsest_grain, split
from libs.database.rollups import GRAINS
from libs.database.tables.rollups import EVERY_MENTION
from libs.database.term_sample import TermSample, sampled_top_terms
from libs.database.unanalysed import CHECK_MARGIN

__all__ = ["Scope", "TermRow", "TermSample", "sampled_top_terms"]

# The origin volume buckets are counted from, before the client's UTC offset.
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday, so weekly buckets could start on Mondays


@dataclass(frozen=True)
class VolumeRow:
    """Mentions posted in one bucket, by sentiment, and their mean sentiment score, named as
    the dashboard fields they fill."""

    start: datetime
    total: int
    positive: int
    neutral: int
    negative: int
    average_sentiment_score: float | None


# The mentions not analysed yet are those stored since the organization's reconciler mark
# (less its margin) and those with a failure row (`libs.database.unanalysed`), both found
# through an index rather than by scanning the window (but for an organization the
# reconciler has not completed a pass for yet, whose window is read whole). The two lists
# are disjoint (a failure row's mention counts in the second only if stored before the
# first's start, a subquery so it is read once rather than per failure row), so no step
# removes duplicates from the first's minutes. A fixed hour
# before now was the bound before: 37,000 mentions stored in the hour took 190 ms per volume
# read at ten million (at 40 a second an hour is 144,000), and a reconciler lagging more
# than the hour left mentions out.
# The analysed mentions of a window: rollup rows of its inside and of the minutes beside it,
# raw rows at its edges, each as (at, watchlist_id, counts…); `_UNANALYSED` adds the mentions
# not analysed yet in the all-mention scope.
_COUNTED = """
    SELECT bucket_at AS at, watchlist_id, positive, neutral, negative,
           sentiment_score_sum AS score_sum, 0 AS unanalysed
    FROM mention_rollup
    WHERE organization_id = :organization_id AND {rollup_watchlists}
      AND ((grain_seconds = :grain AND bucket_at >= :inside_start AND bucket_at < :inside_end)
        OR (grain_seconds = 60
            AND ((bucket_at >= :minutes_0_start AND bucket_at < :minutes_0_end)
              OR (bucket_at >= :minutes_1_start AND bucket_at < :minutes_1_end))))
    UNION ALL
    SELECT m.posted_at, {raw_watchlist},
           (a.sentiment = 'positive')::int, (a.sentiment = 'neutral')::int,
           (a.sentiment = 'negative')::int, a.sentiment_score, 0
    FROM mention m
    JOIN mention_analysis a ON a.mention_id = m.id
    {raw_join}
    WHERE m.organization_id = :organization_id AND {raw_where}
      AND ((m.posted_at >= :raw_0_start AND m.posted_at < :raw_0_end)
        OR (m.posted_at >= :raw_1_start AND m.posted_at < :raw_1_end))
"""

_UNANALYSED = """
    SELECT u.posted_at AS at, CAST(:every AS uuid), 0, 0, 0, NULL::float8, 1
    FROM (
        SELECT m.id, m.posted_at FROM mention m
        WHERE m.organization_id = :organization_id
          AND m.ingested_at >= unanalysed_since(:organization_id, CAST(:margin AS interval))
          AND m.posted_at >= :since AND m.posted_at < :until AND {drills}
        UNION ALL
        SELECT m.id, m.posted_at FROM mention_failure f JOIN mention m ON m.id = f.mention_id
        WHERE f.organization_id = :organization_id
          AND m.ingested_at < (SELECT unanalysed_since(:organization_id, CAST(:margin AS interval)))
          AND m.posted_at >= :since AND m.posted_at < :until AND {drills}
    ) u
    WHERE NOT EXISTS (SELECT 1 FROM mention_analysis a WHERE a.mention_id = u.id)
"""


DRILL_WATCHLISTS = "(SELECT d.watchlist_id FROM drill d WHERE d.organization_id = :organization_id)"
"""The organization's drill watchlists, as a subquery of the counted-rows statements."""

_NOT_DRILL = "m.drill_id IS NULL"
# A drill's mention counts where the rollups count it: under its drill's watchlist, if matched.
_DRILL_MATCHED = "(m.drill_id IS NULL OR cardinality(a.watchlist_ids) > 0)"


def counted_rows(scope: Scope) -> tuple[str, str]:
    """Return which rollup rows (on `mention_rollup`) and which raw rows (on `mention m` joined
    to its analysis `a`) count for the scope, as SQL conditions; read with `parameters`."""
    if scope.watchlist_id is not None:
        return (
            "watchlist_id = :watchlist_id",
            "a.watchlist_ids @> ARRAY[CAST(:watchlist_id AS uuid)]",
        )
    if scope.include_drills:
        return f"(watchlist_id = :every OR watchlist_id IN {DRILL_WATCHLISTS})", _DRILL_MATCHED
    return "watchlist_id = :every", _NOT_DRILL


def _parameters(scope: Scope, grain: int) -> dict[str, object]:
    parts = split(scope.since, scope.until, grain)
    spans = {
        "inside": parts.inside,
        "minutes_0": parts.minutes[0],
        "minutes_1": parts.minutes[1],
        "raw_0": parts.raw[0],
        "raw_1": parts.raw[1],
    }
    parameters: dict[str, object] = {
        "organization_id": scope.organization_id,
        "watchlist_id": scope.watchlist_id,
        "every": EVERY_MENTION,
        "grain": grain,
        "since": scope.since,
        "until": scope.until,
        "margin": CHECK_MARGIN,
    }
    for name, span in spans.items():
        parameters[f"{name}_start"], parameters[f"{name}_end"] = span.start, span.end
    return parameters


parameters = _parameters
"""The bound values of a counted-rows query over the scope's window (`platforms` reads them)."""


def _counted(scope: Scope) -> str:
    """The counted rows of the scope: one watchlist's, or every mention with unanalysed ones."""
    rollup_where, raw_where = counted_rows(scope)
    if scope.watchlist_id is not None:
        return _COUNTED.format(
            rollup_watchlists=rollup_where,
            raw_watchlist="CAST(:watchlist_id AS uuid)",
            raw_join="",
            raw_where=raw_where,
        )
    every = _COUNTED.format(
        rollup_watchlists=rollup_where,
        raw_watchlist="CAST(:every AS uuid)",
        raw_join="",
        raw_where=raw_where,
    )
    unanalysed = _UNANALYSED.format(drills="TRUE" if scope.include_drills else _NOT_DRILL)
    return f"{every} UNION ALL {unanalysed}"


def _by_watchlist(scope: Scope) -> str:
    """The counted rows of every watchlist, each mention once per watchlist it matched; drill
    watchlists only if the scope includes drills (only drills' mentions reach them)."""
    return _COUNTED.format(
        rollup_watchlists=(
            "watchlist_id <> :every"
            if scope.include_drills
            else f"watchlist_id <> :every AND watchlist_id NOT IN {DRILL_WATCHLISTS}"
        ),
        raw_watchlist="w.watchlist_id",
        raw_join="CROSS JOIN LATERAL (SELECT DISTINCT unnest(a.watchlist_ids) AS watchlist_id) w",
        raw_where="TRUE" if scope.include_drills else _NOT_DRILL,
    )


def _mean(total: Any, count: int) -> float | None:
    return float(total) / count if total is not None and count else None


async def volume(
    session: AsyncSession, scope: Scope, width: timedelta, offset: timedelta
) -> list[VolumeRow]:
    """Return each bucket from the one holding `since` to the one holding `until`, empty too."""
    origin = EPOCH - offset
    grain = coarsest_grain(width, offset)
    statement = f"""
        SELECT date_bin(CAST(:width AS interval), at, CAST(:origin AS timestamptz)) AS start,
               sum(positive), sum(neutral), sum(negative), sum(score_sum), sum(unanalysed)
        FROM ({_counted(scope)}) counted
        GROUP BY 1
    """
    parameters = {
        **_parameters(scope, grain),
        "width": width,
        "origin": origin,
    }
    found: dict[datetime, tuple[Any, ...]] = {
        row[0]: tuple(row[1:]) for row in await _text_rows(session, statement, parameters)
    }
    first = origin + ((scope.since - origin) // width) * width
    points = []
    start = first
    while start < scope.until:
        positive, neutral, negative, score_sum, unanalysed = found.get(start, (0, 0, 0, None, 0))
        judged = int(positive) + int(neutral) + int(negative)
        points.append(
            VolumeRow(
                start=start,
                total=judged + int(unanalysed),
                positive=int(positive),
                neutral=int(neutral),
                negative=int(negative),
                average_sentiment_score=_mean(score_sum, judged),
            )
        )
        start += width
    return points


@dataclass(frozen=True)
class ShareRow:
    """One watchlist's matched mentions in the window, by sentiment, and their score sum."""

    watchlist: tables.Watchlist
    mentions: int
    negative: int
    positive: int = 0
    neutral: int = 0
    score_sum: float | None = None


_SHARE = """
    SELECT watchlist_id, sum(positive + neutral + negative), sum(negative), sum(positive),
           sum(neutral), sum(score_sum)
    FROM ({counted}) counted
    GROUP BY watchlist_id
"""


async def share_of_voice(
    session: AsyncSession, scope: Scope, kinds: Sequence[str] | None = None
) -> list[ShareRow]:
    """Return the organization's watchlists (of `kinds`, else all; drills' only if the scope
    includes drills) with their mentions in the window, most first."""
    parameters = _parameters(scope, max(GRAINS))
    statement = _SHARE.format(counted=_by_watchlist(scope))
    found = await _text_rows(session, statement, parameters)
    counts: dict[Any, tuple[int, int, int, int, float | None]] = {}
    for watchlist_id, mentions, negative, positive, neutral, score_sum in map(tuple, found):
        score = float(score_sum) if score_sum is not None else None
        counts[watchlist_id] = (int(mentions), int(negative), int(positive), int(neutral), score)
    watchlist = tables.Watchlist
    listed = select(watchlist).where(col(watchlist.organization_id) == scope.organization_id)
    if kinds is not None:
        listed = listed.where(col(watchlist.kind).in_(kinds))
    if not scope.include_drills:
        drills = select(tables.Drill.watchlist_id).where(
            col(tables.Drill.organization_id) == scope.organization_id
        )
        listed = listed.where(col(watchlist.id).not_in(drills))
    rows = (await session.exec(listed)).all()
    shares = [ShareRow(row, *counts.get(row.id, (0, 0, 0, 0, None))) for row in rows]
    # Most first, then by name as the C collation sorts it, then by id.
    shares.sort(
        key=lambda share: (-share.mentions, share.watchlist.name.encode(), share.watchlist.id)
    )
    return shares


async def _text_rows(
    session: AsyncSession, statement: str, parameters: dict[str, object]
) -> Sequence[Row[Any]]:
    """Run a textual statement with its parameters in the session's transaction."""
    connection = await session.connection()
    return (await connection.execute(text(statement), parameters)).all()


@dataclass(frozen=True)
class IncidentRow:
    """Incident figures for the scope, as PostgreSQL counted them, each named as the
    dashboard field it fills so that the field takes it by name."""

    by_tier: dict[str, int]
    by_status: dict[str, int]
    acknowledged: int
    time_to_acknowledge_median_seconds: float | None
    time_to_acknowledge_p90_seconds: float | None
    deadlines_met: int
    tasks_done_late: int
    tasks_overdue: int
    tasks_pending: int
    overdue_open_tasks: int
    open_incidents: int


async def incident_figures(session: AsyncSession, scope: Scope, now: datetime) -> IncidentRow:
    """Count the incidents detected in the window, their acknowledgement and their deadlines."""
    incident, task = tables.Incident, tables.ResponseTask
    in_scope: list[ColumnElement[bool]] = [col(incident.organization_id) == scope.organization_id]
    if scope.watchlist_id is not None:
        in_scope.append(col(incident.watchlist_id) == scope.watchlist_id)
    if not scope.include_drills:
        in_scope.append(col(incident.drill).is_(False))
    detected = [
        *in_scope,
        col(incident.detected_at) >= scope.since,
        col(incident.detected_at) < scope.until,
    ]

    groups = core_select(col(incident.tier), col(incident.status), func.count()).where(*detected)
    counts = await _rows(session, groups.group_by(col(incident.tier), col(incident.status)))
    by_tier: dict[str, int] = {}
    by_status: dict[str, int] = {}
    for tier, status, count in counts:
        by_tier[tier] = by_tier.get(tier, 0) + int(count)
        by_status[status] = by_status.get(status, 0) + int(count)

    waited = func.extract("epoch", col(incident.acknowledged_at) - col(incident.detected_at))
    acknowledged = col(incident.acknowledged_at).is_not(None)
    timing = core_select(
        func.count().filter(acknowledged),
        # NULL waits (not acknowledged) are left out by the aggregates themselves.
        func.percentile_cont(0.5).within_group(waited),
        func.percentile_cont(0.9).within_group(waited),
    ).where(*detected)
    acknowledged_count, median, p90 = (await _rows(session, timing))[0]

    done = col(task.status) == TaskStatus.DONE.value
    late = and_(
        done,
        or_(
            col(task.breached_at).is_not(None),
            and_(col(task.completed_at).is_not(None), col(task.completed_at) > col(task.due_at)),
        ),
    )
    overdue = task_overdue(now)
    of_detected = (
        core_select(
            func.count().filter(and_(done, ~late)),
            func.count().filter(late),
            func.count().filter(overdue),
            func.count().filter(and_(~done, ~overdue)),
        )
        .join(incident, col(incident.id) == col(task.incident_id))
        .where(col(task.organization_id) == scope.organization_id, *detected)
    )
    on_time, late_count, overdue_count, still_open = (await _rows(session, of_detected))[0]

    is_open = col(incident.status).in_(OPEN_STATUSES)
    now_open = (
        core_select(
            func.count(col(task.id).distinct()).filter(and_(is_open, overdue)),
            func.count(col(incident.id).distinct()).filter(is_open),
        )
        .select_from(incident)
        .outerjoin(
            task,
            and_(
                col(task.incident_id) == col(incident.id),
                col(task.organization_id) == scope.organization_id,
            ),
        )
        .where(*in_scope)
    )
    overdue_now, open_now = (await _rows(session, now_open))[0]

    return IncidentRow(
        by_tier=by_tier,
        by_status=by_status,
        acknowledged=int(acknowledged_count),
        time_to_acknowledge_median_seconds=float(median) if median is not None else None,
        time_to_acknowledge_p90_seconds=float(p90) if p90 is not None else None,
        deadlines_met=int(on_time),
        tasks_done_late=int(late_count),
        tasks_overdue=int(overdue_count),
        tasks_pending=int(still_open),
        overdue_open_tasks=int(overdue_now),
        open_incidents=int(open_now),
    )
