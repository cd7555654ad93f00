"""The SQL of the daily risk check: what it reads of each organization, and the row it writes.

Term counts come from `libs.database.mention_window`, the dashboard's own query; open
incidents and overdue tasks use the shared conditions of `libs.database.predicates`.

Drills are practice, not risk: their watchlists (tiers, spikes), their incidents (and so their
tasks) and their mentions (terms, stories, by `mention_window`'s scope) are left out.
"""

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, Select, case, func
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Sentiment, Tier
from libs.database.mention_window import Scope, analysis_of_mention, mentions_in, rows
from libs.database.predicates import incident_open, task_overdue
from libs.database.tables import (
    Drill,
    Incident,
    Mention,
    MentionAnalysis,
    Organization,
    ResponseTask,
    RiskCheck,
    RiskSignal,
    Story,
    Watchlist,
)

TIERS = [tier.value for tier in Tier]


def _not_a_drill(organization_id: uuid.UUID) -> Any:
    """The watchlist is not one of the organization's drills' own."""
    drills = select(Drill.watchlist_id).where(col(Drill.organization_id) == organization_id)
    return col(Watchlist.id).not_in(drills)


async def unchecked_organizations(session: AsyncSession, day: date) -> list[uuid.UUID]:
    """Return the organizations without a check for `day`, in a stable order."""
    checked = select(RiskCheck.id).where(
        col(RiskCheck.organization_id) == col(Organization.id), col(RiskCheck.day) == day
    )
    found = await session.exec(
        select(Organization.id).where(~checked.exists()).order_by(col(Organization.id))
    )
    return list(found.all())


Found = Sequence[Row[Any]]
Query = Select[*tuple[Any, ...]]


async def tiered_watchlists(session: AsyncSession, organization_id: uuid.UUID) -> Found:
    """Return the organization's watchlists that hold a tier now (not "none")."""
    statement: Query = core_select(
        col(Watchlist.id).label("watchlist_id"),
        col(Watchlist.name),
        col(Watchlist.current_tier).label("tier"),
        col(Watchlist.kind),
    ).where(
        col(Watchlist.organization_id) == organization_id,
        col(Watchlist.current_tier).in_(TIERS),
        _not_a_drill(organization_id),
    )
    return await rows(session, statement.order_by(col(Watchlist.name).collate("C")))


async def spikes(session: AsyncSession, scope: Scope) -> Found:
    """Return, per watchlist with tiered risk signals created in the window, the latest of
    its most severe signals, with how many it raised and when the last came."""
    signal = RiskSignal
    rank = case({tier.value: tier.rank for tier in Tier}, value=col(signal.tier))
    per_watchlist = (col(signal.watchlist_id),)
    statement: Query = (
        core_select(
            col(signal.watchlist_id),
            col(Watchlist.name),
            col(signal.tier),
            col(signal.reasons),
            func.count().over(partition_by=per_watchlist).label("signals"),
            func.max(col(signal.created_at)).over(partition_by=per_watchlist).label("last_at"),
            col(Watchlist.kind),
        )
        .join(Watchlist, col(Watchlist.id) == col(signal.watchlist_id))
        .where(
            col(signal.organization_id) == scope.organization_id,
            col(signal.tier).in_(TIERS),
            col(signal.created_at) >= scope.since,
            col(signal.created_at) < scope.until,
            _not_a_drill(scope.organization_id),
        )
        .ext(distinct_on(col(signal.watchlist_id)))
        .order_by(col(signal.watchlist_id), rank.desc(), col(signal.created_at).desc())
    )
    return await rows(session, statement)


async def negative_stories(session: AsyncSession, scope: Scope, first: int) -> Found:
    """Return the `first` stories with the most negative mentions posted in the window."""
    analysis = MentionAnalysis
    negative = func.count().filter(col(analysis.sentiment) == Sentiment.NEGATIVE.value)
    statement: Query = (
        core_select(
            col(Story.id).label("story_id"),
            col(Story.title),
            negative.label("negative"),
            func.count().label("mentions"),
        )
        .select_from(Mention)
        .join(analysis, analysis_of_mention(scope))
        .join(Story, col(Story.id) == col(analysis.story_id))
        .where(*mentions_in(scope), col(Story.organization_id) == scope.organization_id)
        .group_by(col(Story.id), col(Story.title))
        .having(negative > 0)
        .order_by(negative.desc(), func.count().desc(), col(Story.id))
        .limit(first)
    )
    return await rows(session, statement)


async def open_incidents(session: AsyncSession, organization_id: uuid.UUID) -> Found:
    """Return the organization's incidents still being handled, oldest first."""
    statement: Query = (
        core_select(
            col(Incident.id).label("incident_id"),
            col(Incident.title),
            col(Incident.tier),
            col(Incident.status),
            col(Incident.detected_at),
        )
        .where(
            col(Incident.organization_id) == organization_id,
            incident_open(),
            col(Incident.drill).is_(False),
        )
        .order_by(col(Incident.detected_at), col(Incident.id))
    )
    return await rows(session, statement)


async def overdue_tasks(session: AsyncSession, organization_id: uuid.UUID, now: datetime) -> Found:
    """Return the tasks of the organization's open incidents overdue at `now`, most late first."""
    task = ResponseTask
    statement: Query = (
        core_select(
            col(task.id).label("task_id"), col(task.incident_id), col(task.title), col(task.due_at)
        )
        .join(Incident, col(Incident.id) == col(task.incident_id))
        .where(
            col(task.organization_id) == organization_id,
            col(Incident.organization_id) == organization_id,
            incident_open(),
            col(Incident.drill).is_(False),
            task_overdue(now),
        )
        .order_by(col(task.due_at), col(task.id))
    )
    return await rows(session, statement)


async def store(session: AsyncSession, check: RiskCheck) -> bool:
    """Insert the check unless its organization already has one for its day; return if new."""
    inserted = await session.exec(
        insert(RiskCheck)
        .values(check.model_dump())
        .on_conflict_do_nothing(index_elements=["organization_id", "day"])
        .returning(col(RiskCheck.id))
    )
    return inserted.first() is not None
