"""SQL of the lifecycle: the acknowledge task and the open incidents of a watchlist."""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import TaskStatus
from libs.database.predicates import incident_open
from libs.database.tables import Incident, ResponseTask


async def open_task_of_kind(
    session: AsyncSession, incident_id: uuid.UUID, kind: str
) -> ResponseTask | None:
    """Return the incident's task of `kind` if it is not done yet, locked for update."""
    result = await session.exec(
        select(ResponseTask)
        .where(
            ResponseTask.incident_id == incident_id,
            ResponseTask.kind == kind,
            ResponseTask.status != TaskStatus.DONE.value,
        )
        .with_for_update()
    )
    return result.first()


async def other_open_incident(session: AsyncSession, incident: Incident) -> uuid.UUID | None:
    """Return the id of another open incident of the same watchlist, if there is one."""
    result = await session.exec(
        select(Incident.id).where(
            Incident.watchlist_id == incident.watchlist_id,
            col(Incident.id) != incident.id,
            incident_open(),
        )
    )
    return result.first()
