"""Duties that follow from a role on an incident's team.

A role is a duty once it names people: when the team has someone in the role assigned as
a person (a name that is one person's, see `service`), only those people may do what the
role does — the spokesperson drafts and revises statements, legal counsel approves the legal
stage, the commander closes the incident. Until then anyone with a responder key may, so
an incident nobody has staffed yet is never stuck. Only a command that acts for a person is
held to it; a service account's key acts for nobody and is not.
"""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import TeamRole
from libs.contracts.messages import ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.vocabulary import ROLE_LABELS
from libs.database.tables import IncidentMember
from services.incidents.answers import refuse


async def holders(session: AsyncSession, incident_id: uuid.UUID, role: TeamRole) -> set[uuid.UUID]:
    """Return the people assigned to `role` on the incident (names matching no person
    record do not count)."""
    result = await session.exec(
        select(IncidentMember.person_id).where(
            col(IncidentMember.incident_id) == incident_id,
            col(IncidentMember.role) == role.value,
            col(IncidentMember.person_id).is_not(None),
        )
    )
    return {person for person in result.all() if person is not None}


async def role_refusal(
    session: AsyncSession,
    incident_id: uuid.UUID,
    role: TeamRole,
    person: uuid.UUID | None,
    what: str,
    field: str,
) -> Outcome | None:
    """Refuse `person` doing `what` when the incident's `role` is held by others; else None."""
    if person is None:
        return None
    held_by = await holders(session, incident_id, role)
    if not held_by or person in held_by:
        return None
    message = f"only the incident's {role.value} ({ROLE_LABELS[role]}) may {what}"
    return refuse(ErrorCode.FORBIDDEN, message, field, duty=f"{role.value}_role")
