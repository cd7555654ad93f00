"""The deadline watchdog on real PostgreSQL and Redis, driven by a clock moved by hand.

The watchdog claims passed deadlines across all organizations, so these tests start from an
emptied database (`sessions`): every claim they count is their own.
"""

import asyncio
from datetime import datetime, time, timedelta
from typing import Any, cast

import pytest
from arq.connections import ArqRedis
from sqlmodel import select

from libs.clock import FixedClock, SystemClock
from libs.contracts.enums import EventType, IncidentStatus, TaskStatus, TeamRole
from libs.contracts.response import IntegrationEventEmitted
from libs.contracts.vocabulary import CLOSED_STATUSES
from libs.database.engine import transaction
from libs.database.tables import (
    IncidentMember,
    OutboxMessage,
    Page,
    Person,
    ResponseTask,
    Rota,
)
from libs.messaging import outbox
from services.incidents import events
from services.incidents.tasks import deadlines
from services.incidents.tasks.watchdog import PRODUCER, DeadlineWatchdog
from services.incidents.tests.builders import (
    DEFAULT_TASKS,
    DETECTED_AT,
    Staged,
    TaskSpec,
    integration_events,
    make_org,
    queued_events,
    stage_incident,
    stored_events,
    tasks_by_kind,
    timeline_of,
)
from tests.builders import Sessions
from tests.fixtures.servers import Servers

SECOND = timedelta(seconds=1)


async def _staged(sessions: Sessions, **kwargs: Any) -> Staged:
    return await stage_incident(sessions, tasks=kwargs.pop("tasks", DEFAULT_TASKS), **kwargs)


def test_escalation_goes_up_the_chain_of_command_and_stops_at_the_commander() -> None:
    # monitor → analyst → commander; a spokesperson's miss goes to the commander, not legal.
    assert {role: deadlines.escalation_target(role.value) for role in TeamRole} == {
        TeamRole.MONITOR: TeamRole.ANALYST,
        TeamRole.ANALYST: TeamRole.COMMANDER,
        TeamRole.CUSTOMER_SERVICE: TeamRole.COMMANDER,
        TeamRole.SPOKESPERSON: TeamRole.COMMANDER,
        TeamRole.LEGAL: TeamRole.COMMANDER,
        TeamRole.COMMANDER: TeamRole.COMMANDER,
    }
    assert deadlines.escalation_target(None) is TeamRole.COMMANDER
    assert deadlines.escalation_target("intern") is TeamRole.COMMANDER


async def test_each_deadline_goes_overdue_at_its_minute_and_not_before(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions)
    clock = FixedClock(DETECTED_AT)
    watchdog = DeadlineWatchdog(sessions, redis, clock, interval=15)
    assert await watchdog.run_once() == 0

    ordered = sorted(staged.tasks.values(), key=lambda task: task.due_at)
    for index, task in enumerate(ordered):
        clock.current = task.due_at - SECOND
        assert await watchdog.run_once() == 0, f"{task.kind} fired before its deadline"
        stored = await tasks_by_kind(sessions, staged.incident)
        assert stored[task.kind].status == TaskStatus.OPEN
        assert stored[task.kind].breached_at is None

        clock.current = task.due_at
        assert await watchdog.run_once() == 1, f"{task.kind} did not fire at its deadline"
        stored = await tasks_by_kind(sessions, staged.incident)
        overdue = {kind for kind, row in stored.items() if row.status == TaskStatus.OVERDUE}
        assert overdue == {t.kind for t in ordered[: index + 1]}
        assert stored[task.kind].breached_at == task.due_at

    assert [(t.kind, t.due_at - DETECTED_AT) for t in ordered[:3]] == [
        ("acknowledge", timedelta(minutes=30)),
        ("confirm_scope", timedelta(hours=2)),
        ("first_statement", timedelta(hours=4)),
    ]
    assert len(await stored_events(sessions, staged.incident.organization_id)) == len(ordered)
    assert len(await timeline_of(sessions, staged.incident, "task_overdue")) == len(ordered)


async def test_breach_escalates_up_the_chain_and_names_the_person(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    members = [
        (TeamRole.ANALYST, "王分析", DETECTED_AT),
        (TeamRole.COMMANDER, "李总", DETECTED_AT),
        # A later second commander is not the one named.
        (TeamRole.COMMANDER, "赵副总", DETECTED_AT + timedelta(minutes=5)),
        (TeamRole.SPOKESPERSON, "陈发言", DETECTED_AT),
    ]
    staged = await _staged(sessions, members=members)
    now = DETECTED_AT + timedelta(hours=48, minutes=12)

    async with transaction(sessions) as session:
        messages = integration_events((await deadlines.check(session, now)).messages)

    by_task = {m.payload["kind"]: m for m in messages}
    expected = {
        "acknowledge": ("analyst", "王分析"),
        "confirm_scope": ("commander", "李总"),
        "first_statement": ("commander", "李总"),
        "legal_review": ("commander", "李总"),
        "stakeholder_brief": ("commander", "李总"),
        "detailed_reply": ("commander", "李总"),
        "full_plan": ("commander", "李总"),
    }
    assert {
        kind: (m.payload["escalated_to"]["role"], m.payload["escalated_to"]["person"])
        for kind, m in by_task.items()
    } == expected
    stored = await tasks_by_kind(sessions, staged.incident)
    assert {kind: task.escalated_to for kind, task in stored.items()} == {
        kind: role for kind, (role, _) in expected.items()
    }

    statement = stored["first_statement"]
    payload = dict(by_task["first_statement"].payload)
    summary = payload.pop("incident")  # the incident summary, see test_event_summary
    assert {t["kind"]: t["overdue"] for t in summary["tasks"]}["first_statement"] is True
    assert payload == {
        "task_id": str(statement.id),
        "kind": "first_statement",
        "title": "发布首次公开声明",
        "role": "spokesperson",
        "channel": None,
        "due_at": (DETECTED_AT + timedelta(hours=4)).isoformat(),
        "breached_at": now.isoformat(),
        "minutes_late": 44 * 60 + 12,
        "escalated_to": {"role": "commander", "person": "李总"},
    }
    assert by_task["full_plan"].payload["minutes_late"] == 12

    overdue = {
        e.data["task"]: e for e in await timeline_of(sessions, staged.incident, "task_overdue")
    }
    assert len(overdue) == len(expected)
    assert (
        overdue["full_plan"].message
        == "任务「提交完整处置方案」已超时 12 分钟，升级至总指挥（李总）"
    )
    assert overdue["first_statement"].message == (
        "任务「发布首次公开声明」已超时 2652 分钟，升级至总指挥（李总）"
    )
    assert overdue["acknowledge"].message.endswith("升级至数据分析师（王分析）")
    assert all(e.actor == "system" and e.occurred_at == now for e in overdue.values())
    assert overdue["full_plan"].data == {
        "task": "full_plan",
        "task_id": str(stored["full_plan"].id),
        "due_at": (DETECTED_AT + timedelta(hours=48)).isoformat(),
        "minutes_late": 12,
        "escalated_to": "commander",
        "person": "李总",
    }


async def test_a_deadline_reached_to_the_second_says_so(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions, tasks=DEFAULT_TASKS[:1])
    async with transaction(sessions) as session:
        outcome = await deadlines.check(session, DETECTED_AT + timedelta(minutes=30, seconds=59))

    assert [m.payload["minutes_late"] for m in integration_events(outcome.messages)] == [0]
    (event,) = await timeline_of(sessions, staged.incident, "task_overdue")
    assert (
        event.message
        == "任务「确认事件并启动监测」已到截止时间仍未完成，升级至数据分析师（尚未指定人员）"
    )


async def test_checking_again_or_after_a_restart_never_fires_twice(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions)
    clock = FixedClock(DETECTED_AT + timedelta(hours=3))
    watchdog = DeadlineWatchdog(sessions, redis, clock, interval=15)

    assert await watchdog.run_once() == 2
    assert await watchdog.run_once() == 0
    clock.current += timedelta(minutes=30)
    assert await watchdog.run_once() == 0
    restarted = DeadlineWatchdog(sessions, redis, FixedClock(clock.current), interval=15)
    assert await restarted.run_once() == 0

    stored = await tasks_by_kind(sessions, staged.incident)
    assert stored["acknowledge"].breached_at == DETECTED_AT + timedelta(hours=3)
    assert len(await stored_events(sessions, staged.incident.organization_id)) == 2
    assert len(await timeline_of(sessions, staged.incident, "task_overdue")) == 2
    assert len(await queued_events(redis)) == 2


async def test_two_watchdogs_at_once_fire_each_breach_once(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    org = await make_org(sessions)
    incidents = [await _staged(sessions, organization_id=org, name=f"话题{n}") for n in range(4)]
    now = DETECTED_AT + timedelta(hours=30)
    due = sum(1 for t in DEFAULT_TASKS if t.after <= timedelta(hours=30))

    # Interleaved by hand: the second pass runs while the first holds its rows uncommitted.
    async with transaction(sessions) as first:
        claimed_first = await deadlines.check(first, now)
        async with transaction(sessions) as second:
            # Skips the rows the first pass holds rather than waiting for its commit.
            claimed_second = await asyncio.wait_for(deadlines.check(second, now), timeout=10)
    assert len(claimed_first.messages) == due * len(incidents)
    assert claimed_second.messages == ()

    # And truly concurrent passes over fresh breaches.
    later = DETECTED_AT + timedelta(hours=48)
    watchdogs = [
        DeadlineWatchdog(sessions, redis, FixedClock(later), interval=15) for _ in range(2)
    ]
    counts = await asyncio.gather(*(w.run_once() for w in watchdogs))
    assert sum(counts) == len(incidents)

    events_stored = await stored_events(sessions, org)
    assert len(events_stored) == len(DEFAULT_TASKS) * len(incidents)
    assert len({e.payload["task_id"] for e in events_stored}) == len(events_stored)
    for staged in incidents:
        assert len(await timeline_of(sessions, staged.incident, "task_overdue")) == len(
            DEFAULT_TASKS
        )


async def test_overdue_events_have_stable_ids_and_reach_the_events_queue(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions, tasks=DEFAULT_TASKS[:2])
    now = DETECTED_AT + timedelta(hours=2, minutes=5)
    watchdog = DeadlineWatchdog(sessions, redis, FixedClock(now), interval=15)

    assert await watchdog.run_once() == 2

    rows = await stored_events(sessions, staged.incident.organization_id)
    expected_ids = {
        events.event_id(EventType.TASK_OVERDUE, str(task.id)) for task in staged.tasks.values()
    }
    assert {row.id for row in rows} == expected_ids
    assert all(row.type == "task.overdue" and row.incident_id == staged.incident.id for row in rows)
    assert all(row.occurred_at == now for row in rows)

    queued = await queued_events(redis)
    assert len(queued) == 2
    published = [IntegrationEventEmitted.model_validate(payload) for payload in queued.values()]
    assert {m.event_id for m in published} == expected_ids
    assert {str(m.message_id) for m in published} == set(queued)
    assert all(m.organization_id == staged.incident.organization_id for m in published)
    async with sessions() as session:
        staged_rows = list((await session.exec(select(OutboxMessage))).all())
    assert {str(row.id) for row in staged_rows} == set(queued)
    assert all(row.producer == PRODUCER and row.published_at is not None for row in staged_rows)


class _DownRedis:
    """A Redis that refuses every job, as when it is unreachable right after commit."""

    async def enqueue_job(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("redis is down")


async def test_breaches_committed_while_redis_is_down_are_relayed_later(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions, tasks=DEFAULT_TASKS[:1])
    clock = FixedClock(DETECTED_AT + timedelta(hours=1))
    down = DeadlineWatchdog(sessions, cast(ArqRedis, _DownRedis()), clock, interval=15)

    assert await down.run_once() == 1
    assert await queued_events(redis) == {}
    assert await DeadlineWatchdog(sessions, redis, clock, interval=15).run_once() == 0

    relayed = await outbox.relay_once(sessions, redis, PRODUCER, older_than=timedelta(0))

    assert relayed == 1
    (payload,) = (await queued_events(redis)).values()
    (row,) = await stored_events(sessions, staged.incident.organization_id)
    assert IntegrationEventEmitted.model_validate(payload).event_id == row.id


@pytest.mark.parametrize("status", sorted(CLOSED_STATUSES))
async def test_tasks_of_finished_incidents_never_breach(
    servers: Servers,
    sessions: Sessions,
    redis: ArqRedis,
    status: IncidentStatus,
) -> None:
    org = await make_org(sessions)
    finished = await _staged(sessions, organization_id=org, name="旧事", status=status)
    live = await _staged(sessions, organization_id=org, name="新事", tasks=DEFAULT_TASKS[:1])
    watchdog = DeadlineWatchdog(
        sessions, redis, FixedClock(DETECTED_AT + timedelta(days=30)), interval=15
    )

    assert await watchdog.run_once() == 1

    assert all(
        task.status == TaskStatus.OPEN and task.breached_at is None and task.escalated_to is None
        for task in (await tasks_by_kind(sessions, finished.incident)).values()
    )
    assert await timeline_of(sessions, finished.incident, "task_overdue") == []
    assert (await tasks_by_kind(sessions, live.incident))[
        "acknowledge"
    ].status == TaskStatus.OVERDUE


async def test_a_task_reopened_after_its_breach_does_not_fire_again(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions, tasks=DEFAULT_TASKS[:1])
    clock = FixedClock(DETECTED_AT + timedelta(hours=1))
    assert await DeadlineWatchdog(sessions, redis, clock, interval=15).run_once() == 1
    async with transaction(sessions) as session:
        task = await session.get(ResponseTask, staged.tasks["acknowledge"].id)
        assert task is not None
        task.status = TaskStatus.OPEN.value
        session.add(task)

    clock.current += timedelta(hours=1)
    assert await DeadlineWatchdog(sessions, redis, clock, interval=15).run_once() == 0
    assert len(await stored_events(sessions, staged.incident.organization_id)) == 1


async def test_done_tasks_never_breach(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    specs = [
        TaskSpec("acknowledge", "确认事件并启动监测", timedelta(minutes=30), None, TaskStatus.DONE),
        TaskSpec("confirm_scope", "确认影响范围", timedelta(hours=2), None),
    ]
    staged = await _staged(sessions, tasks=specs)
    watchdog = DeadlineWatchdog(
        sessions, redis, FixedClock(DETECTED_AT + timedelta(hours=3)), interval=15
    )

    assert await watchdog.run_once() == 1

    stored = await tasks_by_kind(sessions, staged.incident)
    assert stored["acknowledge"].status == TaskStatus.DONE
    assert stored["acknowledge"].breached_at is None
    assert stored["confirm_scope"].status == TaskStatus.OVERDUE


async def test_check_refuses_a_naive_time(rolled_back: Sessions) -> None:
    async with rolled_back() as session:
        with pytest.raises(ValueError, match="timezone-aware"):
            await deadlines.check(session, datetime(2025, 3, 1, 9, 0))


class _SignallingWatchdog(DeadlineWatchdog):
    """A watchdog that tells the test when a pass has finished, so it never sleeps."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.passes: asyncio.Queue[int] = asyncio.Queue()

    async def run_once(self) -> int:
        count = await super().run_once()
        await self.passes.put(count)
        return count


async def test_started_watchdog_checks_at_once_and_stops_cleanly(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions, tasks=DEFAULT_TASKS[:2])
    watchdog = _SignallingWatchdog(
        sessions, redis, FixedClock(DETECTED_AT + timedelta(hours=5)), interval=3600
    )

    watchdog.start()
    try:
        first = await asyncio.wait_for(watchdog.passes.get(), timeout=10)
    finally:
        await watchdog.stop()

    assert first == 2
    assert watchdog.passes.empty()
    stored = await tasks_by_kind(sessions, staged.incident)
    assert {task.status for task in stored.values()} == {TaskStatus.OVERDUE}


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


async def test_an_overdue_task_pages_the_incident_s_holder_of_the_role_before_the_rota(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    staged = await _staged(sessions, tasks=DEFAULT_TASKS[:1])
    org = staged.incident.organization_id
    async with transaction(sessions) as session:
        holder = Person(organization_id=org, name="王分析")
        on_duty = Person(organization_id=org, name="赵值班")
        session.add_all([holder, on_duty])
        await session.flush()
        session.add(
            Rota(
                organization_id=org,
                role=TeamRole.ANALYST.value,
                people=[on_duty.id],
                handoff_weekday=0,
                handoff_time=time(9, 0),
                starts_on=DETECTED_AT.date() - timedelta(days=14),
                updated_by="test",
            )
        )
        session.add(
            IncidentMember(
                organization_id=org,
                incident_id=staged.incident.id,
                role=TeamRole.ANALYST.value,
                person=holder.name,
                person_id=holder.id,
                assigned_at=DETECTED_AT,
            )
        )
    now = DETECTED_AT + timedelta(minutes=31)

    async with transaction(sessions) as session:
        messages = integration_events((await deadlines.check(session, now)).messages)

    [overdue] = [m for m in messages if m.type == EventType.TASK_OVERDUE.value]
    [paged] = [m for m in messages if m.type == EventType.PERSON_PAGED.value]
    assert overdue.payload["escalated_to"] == {"role": "analyst", "person": "王分析"}
    # The person the event names is the person paged, not the analyst on the rota.
    assert (paged.payload["person_id"], paged.payload["person"]) == (str(holder.id), "王分析")
    async with sessions() as session:
        pages = (await session.exec(select(Page.person_id))).all()
    assert pages == [holder.id]
