"""An incident's team: the slots its playbook calls for and the people who fill them.

Slots are not rows: they come from the playbook of the incident's current tier and crisis
type, so raising the tier shows the bigger team at once (yellow's 3-person group becomes
orange's task force). A person becomes an `incident_member` row only when assigned, with
who assigned them on the timeline. People may be assigned beyond a slot's count or to a
role the playbook lacks (a lawyer called in on a yellow incident); they are listed too.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TeamRole, Tier
from libs.contracts.messages import CommandResult
from libs.contracts.outcome import Outcome
from libs.contracts.response import AssignRole
from libs.database.tables import Incident, IncidentMember
from services.incidents import timeline
from services.incidents.playbook.service import playbook_for

ROLE_LABELS: dict[TeamRole, str] = {
    TeamRole.MONITOR: "舆情监测员",
    TeamRole.ANALYST: "数据分析师",
    TeamRole.CUSTOMER_SERVICE: "客服专员",
    TeamRole.SPOKESPERSON: "新闻发言人",
    TeamRole.LEGAL: "法务",
    TeamRole.COMMANDER: "总指挥",
}

# Members may still be assigned to a resolved incident (reviews and follow-ups go on);
# a closed, merged or dismissed incident has no team any more.
_FINAL = frozenset({IncidentStatus.CLOSED, IncidentStatus.MERGED, IncidentStatus.FALSE_ALARM})


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


async def _members(session: AsyncSession, incident_id: uuid.UUID) -> list[IncidentMember]:
    result = await session.exec(
        select(IncidentMember)
        .where(IncidentMember.incident_id == incident_id)
        .order_by(col(IncidentMember.assigned_at), col(IncidentMember.person))
    )
    return list(result.all())


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
    for member in await _members(session, incident_id):
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


def _assigned(member: IncidentMember, *, created: bool) -> CommandResult:
    return CommandResult.success(
        id=str(member.id),
        incident_id=str(member.incident_id),
        role=member.role,
        person=member.person,
        assigned_by=member.assigned_by,
        assigned_at=member.assigned_at.isoformat(),
        created=created,
    )


async def assign_role(session: AsyncSession, command: AssignRole, *, now: datetime) -> Outcome:
    """Put a person in a role on the incident's team; assigning them again changes nothing."""
    result = await session.exec(
        select(Incident)
        .where(
            Incident.id == command.incident_id,
            Incident.organization_id == command.organization_id,
        )
        .with_for_update()
    )
    incident = result.first()
    if incident is None:
        message = f"incident {command.incident_id} not found"
        return Outcome.answer(CommandResult.failure("NotFound", message, field="incidentId"))
    status = IncidentStatus(incident.status)
    if status in _FINAL:
        message = f"cannot assign a role on an incident that is {status.value}"
        return Outcome.answer(
            CommandResult.failure("InvalidTransition", message, field="incidentId")
        )
    person = command.person.strip()
    if not person:
        return Outcome.answer(
            CommandResult.failure("Invalid", "person must not be blank", field="person")
        )
    existing = await session.exec(
        select(IncidentMember).where(
            IncidentMember.incident_id == incident.id,
            IncidentMember.role == command.role.value,
            IncidentMember.person == person,
        )
    )
    member = existing.first()
    if member is not None:
        return Outcome.answer(_assigned(member, created=False))
    member = IncidentMember(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        role=command.role.value,
        person=person,
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
    return Outcome.answer(_assigned(member, created=True))
