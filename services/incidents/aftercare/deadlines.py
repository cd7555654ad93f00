"""The follow-up deadline pass: a visit (回访) still undone after its due time is escalated.

Follow-ups are promises to a harmed customer, so one that slips must reach someone who can
act: the pass marks each open follow-up past its due time overdue once, and escalates it to
the incident's commander(s) (指挥: the people who hold the role on its team), who can
reassign or make the call. It writes the incident's timeline and emits `follow_up.overdue`
for chat and webhooks, naming the owner and the commanders. An incident with no commander
assigned as a person escalates to nobody by name; the event says so with an empty list.
Response tasks have their own watchdog (`services.incidents.tasks.watchdog`); this pass is
the aftercare's own so either can change alone.
"""

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import FollowUpKind, TaskStatus, TeamRole
from libs.contracts.events import FollowUpOverdue
from libs.contracts.outcome import Outcome
from libs.contracts.vocabulary import FOLLOW_UP_KIND_LABELS
from libs.database.tables import AffectedUser, FollowUpTask, Incident, Person
from libs.messaging.sweep import SweepSpec
from services.incidents import events, timeline
from services.incidents.team.duties import holders

OVERDUE = "follow_up_overdue"


async def _overdue_due(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    found = await session.exec(
        select(FollowUpTask.id).where(
            col(FollowUpTask.status) == TaskStatus.OPEN.value,
            col(FollowUpTask.due_at) < at,
            col(FollowUpTask.overdue_at).is_(None),
        )
    )
    return list(found.all())


async def mark_overdue(session: AsyncSession, task_id: uuid.UUID, clock: Clock) -> Outcome:
    """Mark one late follow-up overdue and escalate it to the commanders, once."""
    now = clock.now()
    found = await session.exec(
        select(FollowUpTask).where(FollowUpTask.id == task_id).with_for_update()
    )
    task = found.first()
    due = task.due_at if task is not None else None
    if task is None or due is None or task.overdue_at is not None or due >= now:
        return Outcome()
    if task.status != TaskStatus.OPEN.value:
        return Outcome()
    incident = await session.get(Incident, task.incident_id)
    user = await session.get(AffectedUser, task.affected_user_id)
    if incident is None or user is None:
        return Outcome()
    owner = await session.get(Person, task.owner_person_id) if task.owner_person_id else None
    commanders = await _people(session, await holders(session, incident.id, TeamRole.COMMANDER))
    task.overdue_at = now
    task.escalated_to_person_id = commanders[0].id if commanders else None
    session.add(task)
    hours = max(0, int((now - due).total_seconds() // 3600))
    label = FOLLOW_UP_KIND_LABELS[FollowUpKind(task.kind)]
    what = f"受影响用户{user.name_masked}的{f'第{task.visit}次' if task.visit else ''}{label}"
    names = "、".join(person.name for person in commanders) or "无（未指定指挥）"
    timeline.record(
        session,
        incident,
        OVERDUE,
        f"{what}已逾期（负责人：{owner.name if owner else '未指定'}），已升级至：{names}",
        at=now,
        data={"task_id": str(task.id), "hours_late": hours},
    )
    await session.flush()
    body = FollowUpOverdue(
        follow_up_id=task.id,
        incident_id=incident.id,
        affected_user_id=user.id,
        user=user.name_masked,
        kind=task.kind,
        visit=task.visit,
        owner=owner.name if owner else None,
        escalated_to=[person.name for person in commanders],
        due_at=due,
        hours_late=hours,
    )
    told = await events.record(
        session, body, incident.organization_id, incident.id, key=f"{task.id}:{due.isoformat()}",
        at=now,
    )  # fmt: skip
    return Outcome.emit(told)


async def _people(session: AsyncSession, ids: set[uuid.UUID]) -> list[Person]:
    if not ids:
        return []
    found = await session.exec(
        select(Person).where(col(Person.id).in_(ids)).order_by(col(Person.name), col(Person.id))
    )
    return list(found.all())


FOLLOW_UP_DEADLINES = SweepSpec("incidents-follow-up-deadlines", _overdue_due, mark_overdue)
"""The pass the incidents worker runs with the deadline watchdog's cadence, once per cluster."""
