"""SQL of on-call: rotas and their overrides, people to page, pages."""

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IncidentMember, Organization, Page, Person, Rota, RotaOverride


async def time_zone(session: AsyncSession, organization_id: uuid.UUID) -> str:
    """Return the organization's time zone name."""
    result = await session.exec(
        select(Organization.time_zone).where(Organization.id == organization_id)
    )
    return result.one()


async def rota(
    session: AsyncSession, organization_id: uuid.UUID, role: str, *, lock: bool = False
) -> Rota | None:
    """Return the organization's rota for `role`, if it has one."""
    query = select(Rota).where(Rota.organization_id == organization_id, Rota.role == role)
    result = await session.exec(query.with_for_update() if lock else query)
    return result.first()


async def overrides(session: AsyncSession, rota_id: uuid.UUID, at: datetime) -> list[RotaOverride]:
    """Return the rota's overrides that cover `at`."""
    result = await session.exec(
        select(RotaOverride).where(
            RotaOverride.rota_id == rota_id,
            col(RotaOverride.starts_at) <= at,
            col(RotaOverride.ends_at) > at,
        )
    )
    return list(result.all())


async def active_people(
    session: AsyncSession, organization_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Person]:
    """Return the organization's active people among `ids`, by id."""
    result = await session.exec(
        select(Person).where(
            Person.organization_id == organization_id,
            col(Person.id).in_(list(ids)),
            col(Person.deactivated_at).is_(None),
        )
    )
    return {person.id: person for person in result.all()}


async def page(session: AsyncSession, incident_id: uuid.UUID, key: str) -> Page | None:
    """Return the incident's page made for `key`, if there is one."""
    result = await session.exec(
        select(Page).where(Page.incident_id == incident_id, Page.key == key)
    )
    return result.first()


async def member(
    session: AsyncSession, incident_id: uuid.UUID, role: str, person_id: uuid.UUID
) -> IncidentMember | None:
    """Return the person's assignment to `role` on the incident, if there is one."""
    result = await session.exec(
        select(IncidentMember).where(
            IncidentMember.incident_id == incident_id,
            IncidentMember.role == role,
            IncidentMember.person_id == person_id,
        )
    )
    return result.first()
