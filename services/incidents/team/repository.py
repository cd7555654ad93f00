"""SQL of incident teams: who is assigned, in which role."""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IncidentMember, Person
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


async def person_named(
    session: AsyncSession, organization_id: uuid.UUID, name: str
) -> uuid.UUID | None:
    """Return the organization's one active person called `name`; None for none or several."""
    result = await session.exec(
        select(Person.id)
        .where(
            Person.organization_id == organization_id,
            Person.name == name,
            col(Person.deactivated_at).is_(None),
        )
        .limit(2)
    )
    found = list(result.all())
    return found[0] if len(found) == 1 else None
