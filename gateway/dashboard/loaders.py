"""The SQL behind the dashboard: every figure is counted by PostgreSQL in one query.

All queries are scoped to one organization and a time window [since, until); with a
watchlist, only mentions analysis matched to it (and incidents on it) are counted.
Volume buckets start on whole multiples of the bucket width from an origin (midnight UTC,
moved by the client's UTC offset), so the first and last bucket may reach outside the
window; they count only what is inside.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, literal, or_
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import INTERVAL
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import DateTime
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.predicates import OPEN_STATUSES
from libs.contracts.enums import Sentiment, TaskStatus
from libs.database import tables
from libs.database.mention_window import (
    Scope,
    TermRow,
    analysis_of_mention,
    mentions_in,
    top_terms,
)
from libs.database.mention_window import (
    rows as _rows,
)
from libs.database.predicates import task_overdue

__all__ = ["Scope", "TermRow", "top_terms"]

# The origin volume buckets are counted from, before the client's UTC offset.
EPOCH = datetime(2000, 1, 3, tzinfo=UTC)  # a Monday, so weekly buckets could start on Mondays


def _timestamp(moment: datetime) -> ColumnElement[datetime]:
    return literal(moment, DateTime(timezone=True))


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


async def volume(
    session: AsyncSession, scope: Scope, width: timedelta, offset: timedelta
) -> list[VolumeRow]:
    """Return each bucket from the one holding `since` to the one holding `until`, empty too."""
    mention, analysis = tables.Mention, tables.MentionAnalysis
    step = literal(width, INTERVAL())
    origin = _timestamp(EPOCH - offset)
    sentiment = col(analysis.sentiment)
    counted = (
        core_select(
            func.date_bin(step, col(mention.posted_at), origin).label("start"),
            func.count().label("total"),
            func.count().filter(sentiment == Sentiment.POSITIVE.value).label("positive"),
            func.count().filter(sentiment == Sentiment.NEUTRAL.value).label("neutral"),
            func.count().filter(sentiment == Sentiment.NEGATIVE.value).label("negative"),
            func.avg(col(analysis.sentiment_score)).label("average_sentiment_score"),
        )
        .select_from(mention)
        .outerjoin(analysis, analysis_of_mention(scope))
        .where(*mentions_in(scope))
        .group_by(func.date_bin(step, col(mention.posted_at), origin))
        .subquery("counted")
    )
    buckets = (
        func.generate_series(
            func.date_bin(step, _timestamp(scope.since), origin), _timestamp(scope.until), step
        )
        .table_valued("start")
        .render_derived(name="buckets")
    )
    statement = (
        core_select(
            buckets.c.start,
            func.coalesce(counted.c.total, 0),
            func.coalesce(counted.c.positive, 0),
            func.coalesce(counted.c.neutral, 0),
            func.coalesce(counted.c.negative, 0),
            counted.c.average_sentiment_score,
        )
        .select_from(buckets)
        .outerjoin(counted, counted.c.start == buckets.c.start)
        .where(buckets.c.start < _timestamp(scope.until))
        .order_by(buckets.c.start)
    )
    rows = await _rows(session, statement)
    return [
        VolumeRow(
            start=start,
            total=int(total),
            positive=int(positive),
            neutral=int(neutral),
            negative=int(negative),
            average_sentiment_score=float(average) if average is not None else None,
        )
        for start, total, positive, neutral, negative, average in rows
    ]


@dataclass(frozen=True)
class ShareRow:
    """One watchlist's matched mentions in the window and the negative ones among them."""

    watchlist: tables.Watchlist
    mentions: int
    negative: int


async def share_of_voice(session: AsyncSession, scope: Scope) -> list[ShareRow]:
    """Return every watchlist of the organization with its mentions in the window, most first."""
    mention, analysis, watchlist = tables.Mention, tables.MentionAnalysis, tables.Watchlist
    matched = (
        core_select(
            func.unnest(col(analysis.watchlist_ids)).label("watchlist_id"),
            col(analysis.sentiment).label("sentiment"),
        )
        .join(mention, col(mention.id) == col(analysis.mention_id))
        .where(
            col(analysis.organization_id) == scope.organization_id,
            col(mention.organization_id) == scope.organization_id,
            col(mention.posted_at) >= scope.since,
            col(mention.posted_at) < scope.until,
        )
        .subquery("matched")
    )
    counted = (
        core_select(
            matched.c.watchlist_id,
            func.count().label("mentions"),
            func.count().filter(matched.c.sentiment == Sentiment.NEGATIVE.value).label("negative"),
        )
        .group_by(matched.c.watchlist_id)
        .subquery("counted")
    )
    mentions = func.coalesce(counted.c.mentions, 0)
    statement = (
        select(watchlist, mentions, func.coalesce(counted.c.negative, 0))
        .outerjoin(counted, counted.c.watchlist_id == col(watchlist.id))
        .where(col(watchlist.organization_id) == scope.organization_id)
        .order_by(mentions.desc(), col(watchlist.name).collate("C"), col(watchlist.id))
    )
    rows = (await session.exec(statement)).all()
    return [ShareRow(row, int(count), int(negative)) for row, count, negative in rows]


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
