"""The rows a drill reads: its own, the replayed incident's watchlist, and what its incidents
recorded (tasks, statements, timelines), which the score card is made from."""

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import (
    Drill,
    Incident,
    ResponseTask,
    Statement,
    StatementReview,
    TimelineEvent,
    Watchlist,
)


async def drill_for_update(
    session: AsyncSession, organization_id: uuid.UUID, drill_id: uuid.UUID
) -> Drill | None:
    """Return the organization's drill, locked, or None."""
    found = await session.exec(
        select(Drill)
        .where(Drill.id == drill_id, Drill.organization_id == organization_id)
        .with_for_update()
    )
    return found.first()


async def replayed_watchlist(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> Watchlist | None:
    """Return the watchlist of the organization's incident to replay, or None."""
    found = await session.exec(
        select(Watchlist)
        .join(Incident, col(Incident.watchlist_id) == col(Watchlist.id))
        .where(Incident.id == incident_id, Incident.organization_id == organization_id)
    )
    return found.first()


async def incidents(session: AsyncSession, watchlist_id: uuid.UUID) -> list[Incident]:
    """Return the incidents the drill's watchlist opened, the first detected first."""
    found = await session.exec(
        select(Incident)
        .where(Incident.watchlist_id == watchlist_id)
        .order_by(col(Incident.detected_at), col(Incident.id))
    )
    return list(found.all())


async def tasks(session: AsyncSession, incident_ids: Sequence[uuid.UUID]) -> list[ResponseTask]:
    """Return the response tasks of these incidents, by deadline."""
    found = await session.exec(
        select(ResponseTask)
        .where(col(ResponseTask.incident_id).in_(incident_ids))
        .order_by(col(ResponseTask.due_at), col(ResponseTask.position))
    )
    return list(found.all())


async def statements(session: AsyncSession, incident_ids: Sequence[uuid.UUID]) -> list[Statement]:
    """Return the statements of these incidents, oldest first."""
    found = await session.exec(
        select(Statement)
        .where(col(Statement.incident_id).in_(incident_ids))
        .order_by(col(Statement.created_at), col(Statement.id))
    )
    return list(found.all())


async def people(session: AsyncSession, incident_ids: Sequence[uuid.UUID]) -> list[str]:
    """Return who acted on these incidents (timeline entries, reviews), the system left out.

    A person is named by their person id when their key acts for one, else by the key.
    """
    timeline = await session.exec(
        select(TimelineEvent.actor, TimelineEvent.person_id).where(
            col(TimelineEvent.incident_id).in_(incident_ids)
        )
    )
    reviews = await session.exec(
        select(StatementReview.reviewer, StatementReview.person_id)
        .join(Statement, col(Statement.id) == col(StatementReview.statement_id))
        .where(col(Statement.incident_id).in_(incident_ids))
    )
    named = {
        str(person) if person else actor
        for actor, person in (*timeline.all(), *reviews.all())
        if person or actor != "system"
    }
    return sorted(named)
