"""Completing response tasks: on time, late (the breach stays), twice, across organizations."""

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from arq.connections import ArqRedis

from libs.clock import FixedClock
from libs.contracts.enums import IncidentStatus, TaskStatus
from libs.contracts.messages import CommandResult, Message
from libs.contracts.response import CompleteTask
from libs.contracts.vocabulary import CLOSED_STATUSES
from services.incidents.tasks import service as tasks
from services.incidents.tasks.watchdog import DeadlineWatchdog
from services.incidents.tests.builders import (
    DEFAULT_TASKS,
    DETECTED_AT,
    Staged,
    TaskSpec,
    make_org,
    run,
    stage_incident,
    stored_events,
    tasks_by_kind,
    timeline_of,
)
from tests.builders import Sessions


def _command(
    staged: Staged,
    kind: str,
    *,
    actor: str = "key-responder",
    note: str | None = None,
    organization_id: uuid.UUID | None = None,
) -> CompleteTask:
    return CompleteTask(
        organization_id=organization_id or staged.incident.organization_id,
        actor=actor,
        task_id=staged.tasks[kind].id,
        note=note,
    )


async def _complete(
    sessions: Sessions, command: CompleteTask, now: datetime
) -> tuple[CommandResult, list[Message]]:
    return await run(sessions, tasks.complete, command, now=now)


async def _staged(
    sessions: Sessions,
    *,
    status: IncidentStatus = IncidentStatus.RESPONDING,
    tasks: Sequence[TaskSpec] = DEFAULT_TASKS,
) -> Staged:
    return await stage_incident(sessions, status=status, tasks=tasks)


async def test_completing_a_task_on_time_records_who_and_when(rolled_back: Sessions) -> None:
    staged = await _staged(rolled_back)
    now = DETECTED_AT + timedelta(minutes=20)

    result, messages = await _complete(
        rolled_back, _command(staged, "acknowledge", note="监测已启动，每 15 分钟汇报"), now
    )

    assert result.ok, result.error
    assert messages == []
    task = staged.tasks["acknowledge"]
    assert result.data == {
        "id": str(task.id),
        "incident_id": str(staged.incident.id),
        "kind": "acknowledge",
        "status": "done",
        "due_at": (DETECTED_AT + timedelta(minutes=30)).isoformat(),
        "completed_at": now.isoformat(),
        "completed_by": "key-responder",
        "breached_at": None,
        "escalated_to": None,
    }
    stored = (await tasks_by_kind(rolled_back, staged.incident))["acknowledge"]
    assert (stored.status, stored.completed_at, stored.completed_by) == (
        TaskStatus.DONE,
        now,
        "key-responder",
    )
    assert stored.breached_at is None
    (event,) = await timeline_of(rolled_back, staged.incident, "task_done")
    assert event.message == "任务「确认事件并启动监测」已完成，备注：监测已启动，每 15 分钟汇报"
    assert event.actor == "key-responder" and event.occurred_at == now
    assert event.data == {
        "task": "acknowledge",
        "task_id": str(task.id),
        "late": False,
        "minutes_late": None,
        "note": "监测已启动，每 15 分钟汇报",
    }


async def test_a_task_done_late_keeps_its_breach_and_escalation(
    sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions)
    breached_at = DETECTED_AT + timedelta(hours=4, minutes=1)
    assert await DeadlineWatchdog(sessions, redis, FixedClock(breached_at), 15).run_once() == 3
    done_at = DETECTED_AT + timedelta(hours=4, minutes=40)

    result, _ = await _complete(sessions, _command(staged, "first_statement"), done_at)

    assert result.ok, result.error
    assert result.data["breached_at"] == breached_at.isoformat()
    assert result.data["escalated_to"] == "commander"
    stored = (await tasks_by_kind(sessions, staged.incident))["first_statement"]
    assert stored.status == TaskStatus.DONE
    assert stored.breached_at == breached_at and stored.escalated_to == "commander"
    assert stored.completed_at == done_at
    (event,) = await timeline_of(sessions, staged.incident, "task_done")
    assert event.message == "任务「发布首次公开声明」已完成（超过截止时间 40 分钟）"
    assert event.data["late"] is True and event.data["minutes_late"] == 40

    # Done for good: later passes neither re-open nor re-fire it.
    later = DETECTED_AT + timedelta(hours=9)
    assert await DeadlineWatchdog(sessions, redis, FixedClock(later), 15).run_once() == 2
    again = (await tasks_by_kind(sessions, staged.incident))["first_statement"]
    assert again.status == TaskStatus.DONE and again.breached_at == breached_at
    assert len(await stored_events(sessions, staged.incident.organization_id)) == 5


async def test_a_task_done_after_its_deadline_before_the_watchdog_noticed_counts_as_missed(
    sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions)
    done_at = DETECTED_AT + timedelta(minutes=30, seconds=10)

    result, _ = await _complete(sessions, _command(staged, "acknowledge"), done_at)

    assert result.ok
    stored = (await tasks_by_kind(sessions, staged.incident))["acknowledge"]
    assert stored.breached_at == done_at and stored.escalated_to is None
    (event,) = await timeline_of(sessions, staged.incident, "task_done")
    assert event.message == "任务「确认事件并启动监测」已完成（已过截止时间）"
    watchdog = DeadlineWatchdog(sessions, redis, FixedClock(done_at + timedelta(minutes=1)), 15)
    assert await watchdog.run_once() == 0
    assert await stored_events(sessions, staged.incident.organization_id) == []


async def test_a_task_done_exactly_at_its_deadline_is_on_time(rolled_back: Sessions) -> None:
    staged = await _staged(rolled_back)

    result, _ = await _complete(
        rolled_back, _command(staged, "acknowledge"), DETECTED_AT + timedelta(minutes=30)
    )

    assert result.ok and result.data["breached_at"] is None


async def test_completing_twice_answers_the_same_and_changes_nothing(rolled_back: Sessions) -> None:
    staged = await _staged(rolled_back)
    first_at = DETECTED_AT + timedelta(hours=1)

    first, _ = await _complete(
        rolled_back, _command(staged, "confirm_scope", actor="key-a"), first_at
    )
    second, messages = await _complete(
        rolled_back,
        _command(staged, "confirm_scope", actor="key-b", note="重复提交"),
        first_at + timedelta(hours=1),
    )

    assert first.ok and second.ok and messages == []
    assert second.data == first.data
    assert second.data["completed_by"] == "key-a"
    stored = (await tasks_by_kind(rolled_back, staged.incident))["confirm_scope"]
    assert (stored.completed_by, stored.completed_at) == ("key-a", first_at)
    assert len(await timeline_of(rolled_back, staged.incident, "task_done")) == 1


async def test_another_organizations_task_is_not_found(rolled_back: Sessions) -> None:
    theirs = await _staged(rolled_back)
    ours = await make_org(rolled_back)
    command = _command(theirs, "acknowledge", organization_id=ours)

    result, _ = await _complete(rolled_back, command, DETECTED_AT + timedelta(minutes=5))

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("NotFound", "taskId")
    assert result.error.message == f"task {theirs.tasks['acknowledge'].id} not found"
    assert (await tasks_by_kind(rolled_back, theirs.incident))[
        "acknowledge"
    ].status == TaskStatus.OPEN
    assert await timeline_of(rolled_back, theirs.incident, "task_done") == []


async def test_an_unknown_task_is_not_found(rolled_back: Sessions) -> None:
    staged = await _staged(rolled_back)
    missing = uuid.uuid4()
    command = CompleteTask(
        organization_id=staged.incident.organization_id, actor="key-responder", task_id=missing
    )

    result, _ = await _complete(rolled_back, command, DETECTED_AT)

    assert not result.ok and result.error is not None
    assert result.error.code == "NotFound"
    assert result.error.message == f"task {missing} not found"


@pytest.mark.parametrize("status", sorted(CLOSED_STATUSES))
async def test_a_task_of_a_finished_incident_cannot_be_completed(
    rolled_back: Sessions, status: IncidentStatus
) -> None:
    staged = await _staged(rolled_back, status=status)

    result, _ = await _complete(
        rolled_back, _command(staged, "full_plan"), DETECTED_AT + timedelta(hours=1)
    )

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("InvalidTransition", "taskId")
    assert result.error.message == f"cannot complete a task of an incident that is {status.value}"
    stored = (await tasks_by_kind(rolled_back, staged.incident))["full_plan"]
    assert stored.status == TaskStatus.OPEN and stored.completed_at is None


async def test_a_task_already_done_before_the_incident_closed_still_answers_done(
    rolled_back: Sessions,
) -> None:
    specs = [replace(DEFAULT_TASKS[0], status=TaskStatus.DONE)]
    staged = await _staged(rolled_back, status=IncidentStatus.CLOSED, tasks=specs)

    result, _ = await _complete(rolled_back, _command(staged, "acknowledge"), DETECTED_AT)

    assert result.ok and result.data["status"] == "done"
