"""Completing response tasks, on time or late.

A late task keeps its `breached_at` (and its escalation) when it is finally done, because
the review report counts missed deadlines from it. A task finished after its deadline but
before the watchdog's next pass is recorded as breached at completion, so a missed deadline
never depends on how often the watchdog runs; it is not escalated, as nothing is left to do.
"""

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TaskStatus
from libs.contracts.messages import CommandResult, ErrorCode, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.response import CompleteTask
from libs.database.owned import owned
from libs.database.tables import Incident, ResponseTask
from services.incidents import timeline
from services.incidents.answers import refuse
from services.incidents.tasks.deadlines import minutes_late

TIMELINE_KIND = "task_done"


async def complete(session: AsyncSession, command: CompleteTask, *, now: datetime) -> Outcome:
    """Mark an open or overdue task done; completing a done task again changes nothing."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    task = await owned(session, ResponseTask, command.organization_id, command.task_id, lock=True)
    if task is None:
        return _not_found(command)
    if task.status == TaskStatus.DONE.value:
        return Outcome.answer(_answer(task))
    incident = await session.get(Incident, task.incident_id)
    if incident is None:  # the foreign key cascades, so only a concurrent delete gets here
        return _not_found(command)
    status = IncidentStatus(incident.status)
    if not status.is_open:
        message = f"cannot complete a task of an incident that is {status.value}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "taskId")
    if task.breached_at is None and now > task.due_at:
        task.breached_at = now
    task.status = TaskStatus.DONE.value
    task.completed_at = now
    task.completed_by = command.actor
    session.add(task)
    _record_done(session, incident, task, command, now)
    await session.flush()
    return Outcome.answer(_answer(task))


def _not_found(command: CompleteTask) -> Outcome:
    return Outcome.answer(not_found("task", command.task_id, "taskId"))


def _record_done(
    session: AsyncSession,
    incident: Incident,
    task: ResponseTask,
    command: CompleteTask,
    now: datetime,
) -> None:
    late = minutes_late(task.due_at, now) if task.breached_at is not None else None
    message = f"任务「{task.title}」已完成"
    if late is not None:
        message += f"（超过截止时间 {late} 分钟）" if late else "（已过截止时间）"
    if command.note:
        message += f"，备注：{command.note}"
    data: dict[str, Any] = {
        "task": task.kind,
        "task_id": str(task.id),
        "late": task.breached_at is not None,
        "minutes_late": late,
        "note": command.note,
    }
    timeline.record(
        session, incident, TIMELINE_KIND, message, at=now, actor=command.actor, data=data
    )


def _answer(task: ResponseTask) -> CommandResult:
    return CommandResult.success(
        id=str(task.id),
        incident_id=str(task.incident_id),
        kind=task.kind,
        status=task.status,
        due_at=task.due_at.isoformat(),
        completed_at=task.completed_at.isoformat() if task.completed_at else None,
        completed_by=task.completed_by,
        breached_at=task.breached_at.isoformat() if task.breached_at else None,
        escalated_to=task.escalated_to,
    )
