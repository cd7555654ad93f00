"""What the deadline-risk pass reads: incidents waiting on a first statement, and past warnings."""

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import TaskStatus
from libs.contracts.vocabulary import CLOSED_STATUSES, values
from libs.database.tables import Incident, IntegrationEvent, ResponseTask


async def waiting_on(session: AsyncSession, kind: str, now: datetime) -> list[uuid.UUID]:
    """Return the open incidents whose open task of `kind` is still ahead of its deadline."""
    found = await session.exec(
        select(Incident.id)
        .join(ResponseTask, col(ResponseTask.incident_id) == col(Incident.id))
        .where(
            col(Incident.status).not_in(list(values(CLOSED_STATUSES))),
            col(ResponseTask.kind) == kind,
            col(ResponseTask.status) == TaskStatus.OPEN.value,
            col(ResponseTask.due_at) > now,
        )
        .order_by(col(Incident.detected_at))
    )
    return list(found.all())


async def incident_for_update(session: AsyncSession, incident_id: uuid.UUID) -> Incident | None:
    """Return the incident, locked, so two passes never weigh the same one at once."""
    found = await session.exec(select(Incident).where(Incident.id == incident_id).with_for_update())
    return found.first()


async def open_task(
    session: AsyncSession, incident_id: uuid.UUID, kind: str
) -> ResponseTask | None:
    """Return the incident's task of `kind` if it is still open."""
    found = await session.exec(
        select(ResponseTask).where(
            col(ResponseTask.incident_id) == incident_id,
            col(ResponseTask.kind) == kind,
            col(ResponseTask.status) == TaskStatus.OPEN.value,
        )
    )
    return found.first()


async def event_recorded(session: AsyncSession, event_id: uuid.UUID) -> bool:
    """Return whether the integration event with this id was already written."""
    found = await session.exec(select(IntegrationEvent.id).where(IntegrationEvent.id == event_id))
    return found.first() is not None
