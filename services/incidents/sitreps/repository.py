"""What a situation report reads: the incident's reports, figures, timeline, tasks, statements."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Sentiment
from libs.contracts.vocabulary import CLOSED_STATUSES, values
from libs.database.tables import (
    Incident,
    ResponseTask,
    SituationReport,
    Statement,
    TimelineEvent,
    WatchlistHit,
)


async def open_incidents(session: AsyncSession) -> list[uuid.UUID]:
    """Every incident still open, oldest detection first: a pass looks at each."""
    found = await session.exec(
        select(Incident.id)
        .where(col(Incident.status).not_in(list(values(CLOSED_STATUSES))))
        .order_by(col(Incident.detected_at))
    )
    return list(found.all())


async def incident_for_update(session: AsyncSession, incident_id: uuid.UUID) -> Incident | None:
    """The incident, locked, so two passes never draft the same report."""
    found = await session.exec(select(Incident).where(Incident.id == incident_id).with_for_update())
    return found.first()


async def latest_report(session: AsyncSession, incident_id: uuid.UUID) -> SituationReport | None:
    """The incident's last situation report."""
    found = await session.exec(
        select(SituationReport)
        .where(SituationReport.incident_id == incident_id)
        .order_by(col(SituationReport.number).desc())
    )
    return found.first()


async def hits(
    session: AsyncSession, incident: Incident, start: datetime, end: datetime
) -> tuple[int, int]:
    """The watchlist's mentions posted in [start, end), and how many of them are negative."""
    found = await session.exec(
        select(
            func.count(),
            func.count().filter(col(WatchlistHit.sentiment) == Sentiment.NEGATIVE.value),
        ).where(
            col(WatchlistHit.organization_id) == incident.organization_id,
            col(WatchlistHit.watchlist_id) == incident.watchlist_id,
            col(WatchlistHit.posted_at) >= start,
            col(WatchlistHit.posted_at) < end,
        )
    )
    total, negative = found.one()
    return int(total), int(negative)


async def timeline_between(
    session: AsyncSession, incident_id: uuid.UUID, start: datetime, end: datetime
) -> Sequence[TimelineEvent]:
    """The incident's timeline in [start, end), oldest first."""
    found = await session.exec(
        select(TimelineEvent)
        .where(
            TimelineEvent.incident_id == incident_id,
            col(TimelineEvent.occurred_at) >= start,
            col(TimelineEvent.occurred_at) < end,
        )
        .order_by(col(TimelineEvent.occurred_at))
    )
    return found.all()


async def tasks(session: AsyncSession, incident_id: uuid.UUID) -> Sequence[ResponseTask]:
    """The incident's tasks, by due time."""
    found = await session.exec(
        select(ResponseTask)
        .where(ResponseTask.incident_id == incident_id)
        .order_by(col(ResponseTask.due_at), col(ResponseTask.position))
    )
    return found.all()


async def statements(session: AsyncSession, incident_id: uuid.UUID) -> Sequence[Statement]:
    """The incident's statements."""
    found = await session.exec(select(Statement).where(Statement.incident_id == incident_id))
    return found.all()
