"""SQL of incident teams: who is assigned, in which role."""

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IncidentMember
from services.incidents.repository import rows_of


async def members(session: AsyncSession, incident_id: uuid.UUID) -> list[IncidentMember]:
    """Return the incident's team members, earliest assigned first."""
    return await rows_of(
        session, IncidentMember, incident_id, IncidentMember.assigned_at, IncidentMember.person
    )


async def member(
    session: AsyncSession, incident_id: uuid.UUID, role: str, person: str
) -> IncidentMember | None:
    """Return the assignment of `person` to `role` on the incident, if there is one."""
    result = await session.exec(
        select(IncidentMember).where(
            IncidentMember.incident_id == incident_id,
            IncidentMember.role == role,
            IncidentMember.person == person,
        )
    )
    return result.first()
