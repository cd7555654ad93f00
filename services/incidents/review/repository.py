"""SQL of reviews: the report and its actions, and the rows its computed sections read."""

import uuid
from datetime import datetime

from sqlalchemy import DateTime, func, literal
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import (
    AffectedUser,
    FollowUpTask,
    ImprovementAction,
    Incident,
    KeyFact,
    ResponseTask,
    ReviewReport,
    WatchlistHit,
)
from libs.ids import new_id
from services.incidents.repository import belonging_to, fresh_locked, rows_of

DRAFT = "draft"


async def create_report_once(session: AsyncSession, incident: Incident, now: datetime) -> bool:
    """Insert an empty draft report for the incident unless it has one; return if inserted."""
    inserted = await session.exec(
        insert(ReviewReport)
        .values(
            id=new_id(),
            **belonging_to(incident),
            status=DRAFT,
            sections={},
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["incident_id"])
        .returning(col(ReviewReport.id))
    )
    return inserted.first() is not None


async def report_for_update(session: AsyncSession, incident_id: uuid.UUID) -> ReviewReport | None:
    """Return the incident's review report as stored now, locked for update."""
    query = select(ReviewReport).where(ReviewReport.incident_id == incident_id)
    result = await session.exec(fresh_locked(query))
    return result.first()


async def improvements(session: AsyncSession, incident_id: uuid.UUID) -> list[ImprovementAction]:
    """Return the incident's improvement actions in the order they were written."""
    return await rows_of(
        session, ImprovementAction, incident_id, ImprovementAction.created_at, ImprovementAction.id
    )


async def earliest_hit(
    session: AsyncSession,
    incident: Incident,
    *,
    story_id: uuid.UUID | None = None,
    since: datetime | None = None,
    sentiment: str | None = None,
) -> datetime | None:
    """Return when the watchlist's first mention up to detection (and matching) was posted."""
    query = (
        select(func.min(WatchlistHit.posted_at))
        .where(WatchlistHit.watchlist_id == incident.watchlist_id)
        .where(WatchlistHit.organization_id == incident.organization_id)
        .where(WatchlistHit.posted_at <= incident.detected_at)
    )
    if story_id is not None:
        query = query.where(WatchlistHit.story_id == story_id)
    if since is not None:
        query = query.where(WatchlistHit.posted_at >= since)
    if sentiment is not None:
        query = query.where(WatchlistHit.sentiment == sentiment)
    return (await session.exec(query)).one()


async def hourly_hits(
    session: AsyncSession, incident: Incident, start: datetime, end: datetime
) -> list[tuple[int, str | None, int]]:
    """Return the watchlist's mentions from `start` to `end`: (hour index, sentiment, count)."""
    origin = literal(start, DateTime(timezone=True))
    bucket = func.floor(func.extract("epoch", WatchlistHit.posted_at - origin) / 3600)
    query = (
        select(bucket, WatchlistHit.sentiment, func.count())
        .where(WatchlistHit.watchlist_id == incident.watchlist_id)
        .where(WatchlistHit.organization_id == incident.organization_id)
        .where(WatchlistHit.posted_at >= start, WatchlistHit.posted_at < end)
        .group_by(bucket, WatchlistHit.sentiment)
    )
    return [(int(index), sentiment, hits) for index, sentiment, hits in await session.exec(query)]


async def key_facts(session: AsyncSession, incident_id: uuid.UUID) -> list[KeyFact]:
    """Return the incident's key facts by label."""
    return await rows_of(session, KeyFact, incident_id, KeyFact.label)


async def tasks(session: AsyncSession, incident_id: uuid.UUID) -> list[ResponseTask]:
    """Return the incident's response tasks, soonest deadline first."""
    return await rows_of(
        session, ResponseTask, incident_id, ResponseTask.due_at, ResponseTask.position
    )


async def affected_user_count(session: AsyncSession, incident_id: uuid.UUID) -> int:
    """Return how many affected users the incident has."""
    result = await session.exec(
        select(func.count())
        .select_from(AffectedUser)
        .where(AffectedUser.incident_id == incident_id)
    )
    return result.one()


async def follow_ups(session: AsyncSession, incident_id: uuid.UUID) -> list[FollowUpTask]:
    """Return the incident's follow-up and compensation tasks."""
    return await rows_of(session, FollowUpTask, incident_id)
