"""The rows of partners and of their standing per incident."""

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IncidentPartner, Partner


async def name_taken(session: AsyncSession, organization_id: uuid.UUID, name: str) -> bool:
    """Whether the organization already has a partner of this name."""
    found = await session.exec(
        select(Partner.id).where(Partner.organization_id == organization_id, Partner.name == name)
    )
    return found.first() is not None


async def standing(
    session: AsyncSession, incident_id: uuid.UUID, partner_id: uuid.UUID
) -> IncidentPartner | None:
    """The partner's standing in the incident, locked; None before anything was recorded."""
    found = await session.exec(
        select(IncidentPartner)
        .where(IncidentPartner.incident_id == incident_id, IncidentPartner.partner_id == partner_id)
        .with_for_update()
    )
    return found.first()
