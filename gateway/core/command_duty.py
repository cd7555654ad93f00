"""Who may hand out the duties that unlock the most: naming a commander, reassigning a
follow-up.

A commander may read every contact of their incident's affected users and take its signed
archive, and a follow-up's owner may read that user's contact. If any responder could name
themselves to either, the limits on those reads would mean nothing. So naming a commander
and giving a follow-up another owner are kept to an admin key or a key acting for a person
who already commands the incident. The check reads the team (the gateway reads any table);
the owning service still makes the change.
"""

import uuid

from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.errors import Forbidden
from libs.auth.keys import Principal
from libs.contracts.enums import Role, TeamRole
from libs.database.tables import Incident, IncidentMember


async def commanders_of(info: Info, incident_id: uuid.UUID) -> set[uuid.UUID] | None:
    """Return the people who command the caller's incident, or None if it is not theirs."""
    principal = info.context.principal
    async with info.context.sessions() as session:
        mine = await session.exec(
            select(Incident.id).where(
                col(Incident.id) == incident_id,
                col(Incident.organization_id) == principal.organization_id,
            )
        )
        if mine.one_or_none() is None:
            return None
        found = await session.exec(
            select(IncidentMember.person_id).where(
                col(IncidentMember.incident_id) == incident_id,
                col(IncidentMember.organization_id) == principal.organization_id,
                col(IncidentMember.role) == TeamRole.COMMANDER.value,
                col(IncidentMember.person_id).is_not(None),
            )
        )
        return {person for person in found.all() if person is not None}


def commands(principal: Principal, commanders: set[uuid.UUID]) -> bool:
    """Whether the key is an admin's or acts for one of the incident's commanders."""
    if principal.role is Role.ADMIN:
        return True
    return principal.person_id is not None and principal.person_id in commanders


async def refused_unless_commanding(
    info: Info, incident_id: uuid.UUID, what: str
) -> Forbidden | None:
    """Return Forbidden unless an admin key or the incident's commander asks to do `what`.

    An incident the caller does not have passes: the change itself answers NotFound, so
    another organization learns nothing from the refusal's kind.
    """
    principal = info.context.principal
    if principal.role is Role.ADMIN:
        return None
    commanders = await commanders_of(info, incident_id)
    # Another organization's incident is answered NotFound by the change itself.
    if commanders is None or commands(principal, commanders):
        return None
    return Forbidden(
        message=(
            f"Only an admin key or a key acting for the incident's commander (指挥) may {what}."
        )
    )
