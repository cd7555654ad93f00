"""Passed deadlines: mark the task overdue, escalate one role up, page, tell integrators once.

A breach is claimed by a single `UPDATE … RETURNING` that only matches tasks still open with
no `breached_at`. Row locks make a second, concurrent watchdog skip (or re-check and drop)
whatever the first one claimed, and the stored `breached_at` keeps a restarted watchdog from
claiming it again, so each breach yields exactly one timeline event and one `task.overdue`
event. A task finished late keeps its `breached_at`: the review report counts missed
deadlines from it.

Escalation goes up the chain of command, not the order roles are listed in: the monitor's
miss goes to the analyst, the analyst's to the commander, and every other role's (customer
service, spokesperson, legal) straight to the commander, who answers for the response. The
person on duty in that role (`services.incidents.oncall`) is paged, once per breach.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import PageReason, TeamRole
from libs.contracts.events import Escalation, TaskOverdue
from libs.contracts.messages import Message
from libs.contracts.outcome import Outcome
from libs.contracts.vocabulary import ROLE_LABELS
from libs.database.tables import Incident, Person, TimelineEvent
from services.incidents import events, timeline
from services.incidents.oncall import service as oncall
from services.incidents.tasks import repository
from services.incidents.tasks.repository import Holder

TIMELINE_KIND = "task_overdue"
# One pass claims at most this many breaches; a backlog (after a long outage) drains over
# the next passes instead of in one huge transaction.
BATCH_LIMIT = 500

# Who answers for each role's miss; a role not named here answers to the commander.
ESCALATION_CHAIN: dict[TeamRole, TeamRole] = {
    TeamRole.MONITOR: TeamRole.ANALYST,
    TeamRole.ANALYST: TeamRole.COMMANDER,
}


def escalation_target(role: str | None) -> TeamRole:
    """Return the role a miss of `role` escalates to, up the chain monitor → analyst → commander.

    The commander has no one above, so a commander's task, an unowned task, a task of a role
    off the chain (customer service, spokesperson, legal) and a task of a role the vocabulary
    does not know all go to the commander.
    """
    try:
        current = TeamRole(role) if role is not None else TeamRole.COMMANDER
    except ValueError:
        return TeamRole.COMMANDER
    return ESCALATION_CHAIN.get(current, TeamRole.COMMANDER)


def minutes_late(due_at: datetime, at: datetime) -> int:
    """Return the whole minutes between the deadline and `at` (0 within the first minute)."""
    return max(0, (at - due_at) // timedelta(minutes=1))


@dataclass(frozen=True)
class Breach:
    """One task the watchdog just marked overdue, with whom it was escalated to."""

    task_id: uuid.UUID
    organization_id: uuid.UUID
    incident_id: uuid.UUID
    kind: str
    title: str
    role: str | None
    channel: str | None
    due_at: datetime
    breached_at: datetime
    escalated_to: Escalation

    @property
    def minutes_late(self) -> int:
        """Return how many whole minutes past its deadline the task was when claimed."""
        return minutes_late(self.due_at, self.breached_at)

    def body(self) -> TaskOverdue:
        """Return the `task.overdue` event's body: the breach's fields of the same names."""
        return TaskOverdue.model_validate(self, from_attributes=True)

    def message(self) -> str:
        """Return the Chinese timeline message, e.g. 任务「发布首次公开声明」已超时 12 分钟…"""
        late = self.minutes_late
        overdue = f"已超时 {late} 分钟" if late else "已到截止时间仍未完成"
        person = self.escalated_to.person
        holder = f"（{person}）" if person else "（尚未指定人员）"
        label = ROLE_LABELS[TeamRole(self.escalated_to.role)]
        return f"任务「{self.title}」{overdue}，升级至{label}{holder}"

    def timeline_event(self) -> TimelineEvent:
        """Return the timeline event the breach writes, by the system."""
        return TimelineEvent(
            organization_id=self.organization_id,
            incident_id=self.incident_id,
            kind=TIMELINE_KIND,
            message=self.message(),
            actor=timeline.SYSTEM_ACTOR,
            data={
                "task": self.kind,
                "task_id": str(self.task_id),
                "due_at": self.due_at.isoformat(),
                "minutes_late": self.minutes_late,
                "escalated_to": self.escalated_to.role,
                "person": self.escalated_to.person,
            },
            occurred_at=self.breached_at,
        )


async def check(session: AsyncSession, now: datetime) -> Outcome:
    """Claim every task of an open incident whose deadline passed at `now`; escalate each.

    Emits the `task.overdue` messages to publish after the caller commits.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    escalation = {role.value: escalation_target(role.value).value for role in TeamRole}
    claimed = await repository.claim_breaches(session, now, escalation, limit=BATCH_LIMIT)
    if not claimed:
        return Outcome()
    holders = await repository.role_holders(session, {row.incident_id for row in claimed})
    on_duty = await _on_duty(session, claimed, now)
    breaches = [
        Breach(
            task_id=row.id,
            organization_id=row.organization_id,
            incident_id=row.incident_id,
            kind=row.kind,
            title=row.title,
            role=row.role,
            channel=row.channel,
            due_at=row.due_at,
            breached_at=row.breached_at,
            escalated_to=Escalation(
                role=TeamRole(row.escalated_to).value,
                person=_holder_name(holders.get((row.incident_id, row.escalated_to)))
                or _name(on_duty.get((row.organization_id, row.escalated_to))),
            ),
        )
        for row in sorted(claimed, key=lambda r: (r.due_at, str(r.incident_id), r.position))
    ]
    messages: list[Message] = []
    for breach in breaches:
        event = breach.timeline_event()
        session.add(event)
        timeline.stage_notice(session, event)
        messages.append(
            await events.record(
                session,
                breach.body(),
                breach.organization_id,
                breach.incident_id,
                key=str(breach.task_id),
                at=breach.breached_at,
            )
        )
        held = holders.get((breach.incident_id, breach.escalated_to.role))
        messages += await _page(session, breach, held, on_duty)
    await session.flush()
    return Outcome.emit(*messages)


OnDutyByRole = dict[tuple[uuid.UUID, str], Person | None]


def _name(person: Person | None) -> str | None:
    return person.name if person is not None else None


async def _on_duty(session: AsyncSession, claimed: list[Any], now: datetime) -> OnDutyByRole:
    """Return who is on duty in each (organization, role) the breaches escalated to."""
    found: OnDutyByRole = {}
    for organization_id, role in {(row.organization_id, row.escalated_to) for row in claimed}:
        duty = await oncall.who_is_on_duty(session, organization_id, TeamRole(role), now)
        found[(organization_id, role)] = duty[0] if duty is not None else None
    return found


async def _page(
    session: AsyncSession, breach: Breach, held: Holder | None, on_duty: OnDutyByRole
) -> list[Message]:
    """Page whom the breach escalated to: the incident's holder of the role when they are a
    person of the organization, else the person on duty in that role, if anyone is.

    The event names the holder first too, so a holder who is a person is both named and
    paged; a holder known only by a name is named, and the person on duty is paged.
    """
    role = TeamRole(breach.escalated_to.role)
    person = await _active_person(session, breach.organization_id, held)
    if person is None:
        person = on_duty.get((breach.organization_id, role.value))
    incident = await session.get(Incident, breach.incident_id)
    if person is None or incident is None:
        return []
    paged = await oncall.page(
        session,
        incident,
        person,
        role,
        PageReason.TASK_OVERDUE,
        key=f"task:{breach.task_id}",
        now=breach.breached_at,
        task_id=breach.task_id,
    )
    return [paged] if paged is not None else []


def _holder_name(held: Holder | None) -> str | None:
    return held.name if held is not None else None


async def _active_person(
    session: AsyncSession, organization_id: uuid.UUID, held: Holder | None
) -> Person | None:
    """Return the holder's person when they are one of the organization's active people."""
    if held is None or held.person_id is None:
        return None
    person = await session.get(Person, held.person_id)
    if person is None or person.organization_id != organization_id:
        return None
    return person if person.deactivated_at is None else None
