"""Improvement actions with a life (复盘 → 整改 → 公示改进成果).

A review commits to improvements; this module carries each one to its end. Its status moves
open → in progress → done → verified (a second person, or later evidence, confirms the fix
held), or it is dropped with a reason; done work can be taken up again (back to in
progress or open) with a reason. Its owner is a person of the organization, and its due
date is watched: the improvement-deadline pass marks an action still open after its due
date overdue once, on its incident's timeline and as `improvement.overdue` for chat and
webhooks. A recurrence of the crisis reopens only the actions not finished.
"""

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import ImprovementStatus
from libs.contracts.events import ImprovementOverdue
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import UpdateImprovementAction
from libs.database.tables import ImprovementAction, Incident, Person
from libs.messaging.sweep import SweepSpec
from services.incidents import events, timeline
from services.incidents.answers import existing, refusal

S = ImprovementStatus
# Where an action may go from where it is; a move elsewhere answers InvalidTransition.
MOVES: dict[ImprovementStatus, frozenset[ImprovementStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.DONE, S.DROPPED}),
    S.REOPENED: frozenset({S.IN_PROGRESS, S.DONE, S.DROPPED}),
    S.IN_PROGRESS: frozenset({S.OPEN, S.DONE, S.DROPPED}),
    S.DONE: frozenset({S.VERIFIED, S.IN_PROGRESS, S.OPEN, S.DROPPED}),
    S.VERIFIED: frozenset(),
    S.DROPPED: frozenset({S.OPEN}),
}
# Moves that need a reason: giving up, and taking back work called done or given up.
NEEDS_REASON = frozenset({S.DROPPED, S.OPEN})
LABELS = {
    S.OPEN: "待开始",
    S.REOPENED: "因复发重新打开",
    S.IN_PROGRESS: "进行中",
    S.DONE: "已完成",
    S.VERIFIED: "已验证",
    S.DROPPED: "已放弃",
}
STATUS_CHANGED = "improvement_status"
OVERDUE = "improvement_overdue"
STILL_DUE = (S.OPEN.value, S.REOPENED.value, S.IN_PROGRESS.value)


@answering
async def update_action(
    session: AsyncSession, command: UpdateImprovementAction, *, now: datetime
) -> CommandResult:
    """Move an action, give it an owner who is a person, or a new due date."""
    org = command.organization_id
    action = await existing(
        session, ImprovementAction, org, command.action_id, "improvement action", "actionId",
        lock=True,
    )  # fmt: skip
    incident = await existing(session, Incident, org, action.incident_id, "incident", "actionId")
    reason = (command.reason or "").strip() or None
    if command.owner_person_id is not None:
        person = await existing(
            session, Person, org, command.owner_person_id, "person", "ownerPersonId"
        )
        if person.deactivated_at is not None:
            message = "the person was deactivated; give the action to someone active"
            raise Refused(refusal(ErrorCode.INVALID, message, "ownerPersonId"))
        action.owner_person_id = person.id
        action.owner = person.name
    if command.due_at is not None:
        action.due_at = command.due_at
        action.overdue_at = None
    if command.status is not None and command.status != S(action.status):
        current = S(action.status)
        if command.status not in MOVES[current]:
            wanted = command.status.value
            message = f"an improvement action that is {current.value} cannot become {wanted}"
            raise Refused(
                refusal(ErrorCode.INVALID_TRANSITION, message, "status", status=current.value)
            )
        if command.status in NEEDS_REASON and reason is None:
            message = f"say why the action becomes {command.status.value}"
            raise Refused(refusal(ErrorCode.INVALID, message, "reason"))
        action.status = command.status.value
        action.status_reason = reason
        action.status_changed_at = now
        action.status_changed_by = command.actor
        if command.status is S.DONE:
            action.done_at = now
        why = f"：{reason}" if reason else ""
        timeline.record(
            session,
            incident,
            STATUS_CHANGED,
            f"改进措施「{action.action[:60]}」{LABELS[current]} → {LABELS[command.status]}{why}",
            at=now,
            actor=command.actor,
            data={"action_id": str(action.id), "from": current.value, "to": action.status},
        )
    session.add(action)
    await session.flush()
    return CommandResult.success(id=str(action.id), status=action.status)


async def _overdue_due(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    found = await session.exec(
        select(ImprovementAction.id).where(
            col(ImprovementAction.status).in_(STILL_DUE),
            col(ImprovementAction.due_at) < at,
            col(ImprovementAction.overdue_at).is_(None),
        )
    )
    return list(found.all())


async def mark_overdue(session: AsyncSession, action_id: uuid.UUID, clock: Clock) -> Outcome:
    """Mark one late action overdue, once: on its incident's timeline and for integrators."""
    now = clock.now()
    found = await session.exec(
        select(ImprovementAction).where(ImprovementAction.id == action_id).with_for_update()
    )
    action = found.first()
    due = action.due_at if action is not None else None
    if action is None or due is None or action.overdue_at is not None or due >= now:
        return Outcome()
    if action.status not in STILL_DUE:
        return Outcome()
    incident = await session.get(Incident, action.incident_id)
    if incident is None:
        return Outcome()
    action.overdue_at = now
    session.add(action)
    days = max(0, (now - due).days)
    timeline.record(
        session,
        incident,
        OVERDUE,
        f"改进措施「{action.action[:60]}」已逾期（负责人：{action.owner}）",
        at=now,
        data={"action_id": str(action.id), "days_late": days},
    )
    await session.flush()
    body = ImprovementOverdue(
        action_id=action.id,
        incident_id=incident.id,
        action=action.action,
        owner=action.owner,
        status=action.status,
        due_at=due,
        days_late=days,
    )
    told = await events.record(
        session, body, incident.organization_id, incident.id, key=f"{action.id}:{due.isoformat()}",
        at=now,
    )  # fmt: skip
    return Outcome.emit(told)


IMPROVEMENT_DEADLINES = SweepSpec("incidents-improvement-deadlines", _overdue_due, mark_overdue)
"""The pass the incidents worker runs with the situation reports' cadence, once per cluster."""
