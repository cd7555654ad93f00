"""An incident's team: the slots its playbook calls for and the people who fill them.

Slots are not rows: they come from the playbook of the incident's current tier and crisis
type, so raising the tier shows the bigger team at once (yellow's 3-person group becomes
orange's task force). A person becomes an `incident_member` row only when assigned, with
who assigned them on the timeline. People may be assigned beyond a slot's count or to a
role the playbook lacks (a lawyer called in on a yellow incident); they are listed too.
Members may still be assigned to a resolved incident (reviews and follow-ups go on); a
closed, merged or dismissed incident has no team any more. A role is assigned by name; a
name that is exactly one active person's becomes an assignment of that person, whose
duties (the legal stage of a statement's review) then follow from it.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TeamRole, Tier
from libs.contracts.messages import CommandResult, ErrorCode, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.response import AssignRole
from libs.contracts.vocabulary import FINAL_STATUSES, ROLE_LABELS
from libs.database.owned import owned
from libs.database.tables import Incident, IncidentMember
from services.incidents import timeline
from services.incidents.answers import refuse
from services.incidents.playbook.service import playbook_for
from services.incidents.repository import belonging_to
from services.incidents.team import repository as team_repository


@dataclass(frozen=True)
class SlotStatus:
    """One role: how many people the playbook wants and who holds it."""

    role: TeamRole
    needed: int
    people: tuple[str, ...]

    @property
    def missing(self) -> int:
        """Return how many more people the slot needs."""
        return max(0, self.needed - len(self.people))


@dataclass(frozen=True)
class TeamStatus:
    """The team an incident needs now and how much of it is filled."""

    incident_id: uuid.UUID
    tier: Tier
    slots: tuple[SlotStatus, ...]

    @property
    def complete(self) -> bool:
        """Return whether every slot the playbook calls for is filled."""
        return all(slot.missing == 0 for slot in self.slots)


async def team_status(
    session: AsyncSession, incident_id: uuid.UUID, *, organization_id: uuid.UUID | None = None
) -> TeamStatus | None:
    """Return the incident's slots (playbook order, then extra roles) and who fills them.

    With `organization_id`, another organization's incident is None, like a missing one.
    """
    incident = await session.get(Incident, incident_id)
    if incident is None or organization_id not in (None, incident.organization_id):
        return None
    tier = Tier(incident.tier)
    playbook = await playbook_for(session, incident.organization_id, tier, incident.crisis_type)
    people: dict[TeamRole, list[str]] = {}
    for member in await team_repository.members(session, incident_id):
        people.setdefault(TeamRole(member.role), []).append(member.person)
    slots = [
        SlotStatus(slot.role, slot.count, tuple(people.get(slot.role, ())))
        for slot in playbook.team
    ]
    planned = {slot.role for slot in playbook.team}
    slots += [
        SlotStatus(role, 0, tuple(people[role]))
        for role in TeamRole
        if role in people and role not in planned
    ]
    return TeamStatus(incident_id=incident.id, tier=tier, slots=tuple(slots))


def _assigned(member: IncidentMember, *, created: bool) -> Outcome:
    return Outcome.answer(
        CommandResult.success(
            id=str(member.id),
            incident_id=str(member.incident_id),
            role=member.role,
            person=member.person,
            assigned_by=member.assigned_by,
            assigned_at=member.assigned_at.isoformat(),
            created=created,
        )
    )


async def assign_role(session: AsyncSession, command: AssignRole, *, now: datetime) -> Outcome:
    """Put a person in a role on the incident's team; assigning them again changes nothing."""
    incident = await owned(
        session, Incident, command.organization_id, command.incident_id, lock=True
    )
    if incident is None:
        return Outcome.answer(not_found("incident", command.incident_id, "incidentId"))
    status = IncidentStatus(incident.status)
    if status in FINAL_STATUSES:
        message = f"cannot assign a role on an incident that is {status.value}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "incidentId")
    person = command.person.strip()
    if not person:
        return refuse(ErrorCode.INVALID, "person must not be blank", "person")
    member = await team_repository.member(session, incident.id, command.role.value, person)
    if member is not None:
        return _assigned(member, created=False)
    member = IncidentMember(
        **belonging_to(incident),
        role=command.role.value,
        person=person,
        person_id=await team_repository.person_named(session, incident.organization_id, person),
        assigned_by=command.actor,
        assigned_at=now,
    )
    session.add(member)
    timeline.member_assigned(
        session,
        incident,
        role_label=ROLE_LABELS[command.role],
        role=command.role.value,
        person=person,
        actor=command.actor,
        at=now,
    )
    incident.updated_at = now
    session.add(incident)
    await session.flush()
    return _assigned(member, created=True)
