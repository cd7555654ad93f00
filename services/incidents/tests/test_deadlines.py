"""The deadline watchdog on real PostgreSQL and Redis, driven by a clock moved by hand."""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EventType, IncidentStatus, TaskStatus, TeamRole, Tier
from libs.contracts.messages import EVENTS_QUEUE
from libs.contracts.response import IntegrationEventEmitted
from libs.database.engine import transaction
from libs.database.tables import (
    Incident,
    IncidentMember,
    IntegrationEvent,
    OutboxMessage,
    ResponseTask,
    TimelineEvent,
    Watchlist,
)
from libs.messaging import outbox
from services.incidents import deadlines, events
from services.incidents.clock import SystemClock
from services.incidents.watchdog import PRODUCER, DeadlineWatchdog
from tests.builders import make_tenant
from tests.fixtures.servers import Servers

DETECTED_AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)


@dataclass(frozen=True)
class TaskSpec:
    """A response task to stage: kind, title, minutes after detection, owning role."""

    kind: str
    title: str
    after: timedelta
    role: TeamRole | None
    status: TaskStatus = TaskStatus.OPEN


DEFAULT_TASKS = (
    TaskSpec("acknowledge", "确认事件并启动监测", timedelta(minutes=30), TeamRole.MONITOR),
    TaskSpec("confirm_scope", "确认影响范围", timedelta(hours=2), TeamRole.ANALYST),
    TaskSpec("first_statement", "发布首次公开声明", timedelta(hours=4), TeamRole.SPOKESPERSON),
    TaskSpec("legal_review", "法务审核声明", timedelta(hours=6), TeamRole.LEGAL),
    TaskSpec("stakeholder_brief", "通报内部相关部门", timedelta(hours=8), None),
    TaskSpec("detailed_reply", "发布详细回应", timedelta(hours=24), TeamRole.CUSTOMER_SERVICE),
    TaskSpec("full_plan", "提交完整处置方案", timedelta(hours=48), TeamRole.COMMANDER),
)


@dataclass(frozen=True)
class Staged:
    """An incident staged for a test, with its tasks by kind."""

    incident: Incident
    tasks: dict[str, ResponseTask]


class FakeClock:
    """A clock that stands still until the test moves it."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


async def make_incident(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    *,
    name: str = "奶粉",
    status: IncidentStatus = IncidentStatus.RESPONDING,
    tasks: Sequence[TaskSpec] = DEFAULT_TASKS,
    members: Sequence[tuple[TeamRole, str, datetime]] = (),
    detected_at: datetime = DETECTED_AT,
) -> Staged:
    """Stage a watchlist, an incident in `status`, its tasks and its team members."""
    async with transaction(sessions) as session:
        watchlist = Watchlist(organization_id=organization_id, name=name, keywords=[name])
        session.add(watchlist)
        await session.flush()
        incident = Incident(
            organization_id=organization_id,
            watchlist_id=watchlist.id,
            title=f"「{name}」中度舆情危机",
            tier=Tier.ORANGE.value,
            status=status.value,
            detected_at=detected_at,
        )
        session.add(incident)
        await session.flush()
        rows = {}
        for position, spec in enumerate(tasks):
            row = ResponseTask(
                organization_id=organization_id,
                incident_id=incident.id,
                kind=spec.kind,
                title=spec.title,
                position=position,
                due_at=detected_at + spec.after,
                status=spec.status.value,
                role=spec.role.value if spec.role else None,
            )
            session.add(row)
            rows[spec.kind] = row
        for role, person, assigned_at in members:
            session.add(
                IncidentMember(
                    organization_id=organization_id,
                    incident_id=incident.id,
                    role=role.value,
                    person=person,
                    assigned_at=assigned_at,
                )
            )
    return Staged(incident, rows)


async def load_tasks(
    sessions: async_sessionmaker[AsyncSession], incident: Incident
) -> dict[str, ResponseTask]:
    """Return the incident's tasks as stored now, by kind."""
    async with sessions() as session:
        result = await session.exec(
            select(ResponseTask).where(ResponseTask.incident_id == incident.id)
        )
        return {task.kind: task for task in result.all()}


async def timeline(
    sessions: async_sessionmaker[AsyncSession], incident: Incident, kind: str
) -> list[TimelineEvent]:
    """Return the incident's timeline events of `kind`, oldest first."""
    async with sessions() as session:
        result = await session.exec(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident.id, TimelineEvent.kind == kind)
            .order_by(col(TimelineEvent.occurred_at))
        )
        return list(result.all())


async def stored_events(sessions: async_sessionmaker[AsyncSession]) -> list[IntegrationEvent]:
    """Return every stored integration event, oldest first."""
    async with sessions() as session:
        result = await session.exec(
            select(IntegrationEvent).order_by(col(IntegrationEvent.occurred_at))
        )
        return list(result.all())


async def queued_events(redis: ArqRedis) -> dict[str, dict[str, Any]]:
    """Return the jobs waiting on the events queue: payload by job id."""
    jobs = await redis.queued_jobs(queue_name=EVENTS_QUEUE)
    return {job.job_id: job.args[0] for job in jobs if job.job_id is not None}


async def _tenant_incident(sessions: async_sessionmaker[AsyncSession], **kwargs: Any) -> Staged:
    tenant = await make_tenant(sessions)
    return await make_incident(sessions, tenant.org.id, **kwargs)


def test_escalation_goes_one_role_up_and_stops_at_the_commander() -> None:
    assert [deadlines.escalation_target(role.value) for role in TeamRole] == [
        TeamRole.ANALYST,
        TeamRole.CUSTOMER_SERVICE,
        TeamRole.SPOKESPERSON,
        TeamRole.LEGAL,
        TeamRole.COMMANDER,
        TeamRole.COMMANDER,
    ]
    assert deadlines.escalation_target(None) is TeamRole.COMMANDER
    assert deadlines.escalation_target("intern") is TeamRole.COMMANDER


async def test_each_deadline_goes_overdue_at_its_minute_and_not_before(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    staged = await _tenant_incident(sessions)
    clock = FakeClock(DETECTED_AT)
    watchdog = DeadlineWatchdog(sessions, redis, clock, interval=15)
    assert await watchdog.run_once() == 0

    ordered = sorted(staged.tasks.values(), key=lambda task: task.due_at)
    for index, task in enumerate(ordered):
        clock.at = task.due_at - SECOND
        assert await watchdog.run_once() == 0, f"{task.kind} fired before its deadline"
        stored = await load_tasks(sessions, staged.incident)
        assert stored[task.kind].status == TaskStatus.OPEN
        assert stored[task.kind].breached_at is None

        clock.at = task.due_at
        assert await watchdog.run_once() == 1, f"{task.kind} did not fire at its deadline"
        stored = await load_tasks(sessions, staged.incident)
        overdue = {kind for kind, row in stored.items() if row.status == TaskStatus.OVERDUE}
        assert overdue == {t.kind for t in ordered[: index + 1]}
        assert stored[task.kind].breached_at == task.due_at

    assert [(t.kind, t.due_at - DETECTED_AT) for t in ordered[:3]] == [
        ("acknowledge", timedelta(minutes=30)),
        ("confirm_scope", timedelta(hours=2)),
        ("first_statement", timedelta(hours=4)),
    ]
    assert len(await stored_events(sessions)) == len(ordered)
    assert len(await timeline(sessions, staged.incident, "task_overdue")) == len(ordered)


async def test_breach_escalates_one_role_up_and_names_the_person(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    members = [
        (TeamRole.ANALYST, "王分析", DETECTED_AT),
        (TeamRole.COMMANDER, "李总", DETECTED_AT),
        # A later second commander is not the one named.
        (TeamRole.COMMANDER, "赵副总", DETECTED_AT + timedelta(minutes=5)),
        (TeamRole.SPOKESPERSON, "陈发言", DETECTED_AT),
    ]
    staged = await _tenant_incident(sessions, members=members)
    now = DETECTED_AT + timedelta(hours=48, minutes=12)

    async with transaction(sessions) as session:
        messages = await deadlines.check(session, now)

    by_task = {m.payload["kind"]: m for m in messages}
    expected = {
        "acknowledge": ("analyst", "王分析"),
        "confirm_scope": ("customer_service", None),
        "first_statement": ("legal", None),
        "legal_review": ("commander", "李总"),
        "stakeholder_brief": ("commander", "李总"),
        "detailed_reply": ("spokesperson", "陈发言"),
        "full_plan": ("commander", "李总"),
    }
    assert {
        kind: (m.payload["escalated_to"]["role"], m.payload["escalated_to"]["person"])
        for kind, m in by_task.items()
    } == expected
    stored = await load_tasks(sessions, staged.incident)
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
        "escalated_to": {"role": "legal", "person": None},
    }
    assert by_task["full_plan"].payload["minutes_late"] == 12

    overdue = {e.data["task"]: e for e in await timeline(sessions, staged.incident, "task_overdue")}
    assert len(overdue) == len(expected)
    assert (
        overdue["full_plan"].message
        == "任务「提交完整处置方案」已超时 12 分钟，升级至总指挥（李总）"
    )
    assert overdue["first_statement"].message == (
        "任务「发布首次公开声明」已超时 2652 分钟，升级至法务（尚未指定人员）"
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
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    staged = await _tenant_incident(sessions, tasks=DEFAULT_TASKS[:1])
    async with transaction(sessions) as session:
        messages = await deadlines.check(session, DETECTED_AT + timedelta(minutes=30, seconds=59))

    assert [m.payload["minutes_late"] for m in messages] == [0]
    (event,) = await timeline(sessions, staged.incident, "task_overdue")
    assert (
        event.message
        == "任务「确认事件并启动监测」已到截止时间仍未完成，升级至数据分析师（尚未指定人员）"
    )


async def test_checking_again_or_after_a_restart_never_fires_twice(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    staged = await _tenant_incident(sessions)
    clock = FakeClock(DETECTED_AT + timedelta(hours=3))
    watchdog = DeadlineWatchdog(sessions, redis, clock, interval=15)

    assert await watchdog.run_once() == 2
    assert await watchdog.run_once() == 0
    clock.at += timedelta(minutes=30)
    assert await watchdog.run_once() == 0
    restarted = DeadlineWatchdog(sessions, redis, FakeClock(clock.at), interval=15)
    assert await restarted.run_once() == 0

    stored = await load_tasks(sessions, staged.incident)
    assert stored["acknowledge"].breached_at == DETECTED_AT + timedelta(hours=3)
    assert len(await stored_events(sessions)) == 2
    assert len(await timeline(sessions, staged.incident, "task_overdue")) == 2
    assert len(await queued_events(redis)) == 2


async def test_two_watchdogs_at_once_fire_each_breach_once(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    incidents = [await make_incident(sessions, tenant.org.id, name=f"话题{n}") for n in range(4)]
    now = DETECTED_AT + timedelta(hours=30)
    due = sum(1 for t in DEFAULT_TASKS if t.after <= timedelta(hours=30))

    # Interleaved by hand: the second pass runs while the first holds its rows uncommitted.
    async with transaction(sessions) as first:
        claimed_first = await deadlines.check(first, now)
        async with transaction(sessions) as second:
            # Skips the rows the first pass holds rather than waiting for its commit.
            claimed_second = await asyncio.wait_for(deadlines.check(second, now), timeout=10)
    assert len(claimed_first) == due * len(incidents)
    assert claimed_second == []

    # And truly concurrent passes over fresh breaches.
    later = DETECTED_AT + timedelta(hours=48)
    watchdogs = [DeadlineWatchdog(sessions, redis, FakeClock(later), interval=15) for _ in range(2)]
    counts = await asyncio.gather(*(w.run_once() for w in watchdogs))
    assert sum(counts) == len(incidents)

    events_stored = await stored_events(sessions)
    assert len(events_stored) == len(DEFAULT_TASKS) * len(incidents)
    assert len({e.payload["task_id"] for e in events_stored}) == len(events_stored)
    for staged in incidents:
        assert len(await timeline(sessions, staged.incident, "task_overdue")) == len(DEFAULT_TASKS)


async def test_overdue_events_have_stable_ids_and_reach_the_events_queue(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    staged = await _tenant_incident(sessions, tasks=DEFAULT_TASKS[:2])
    now = DETECTED_AT + timedelta(hours=2, minutes=5)
    watchdog = DeadlineWatchdog(sessions, redis, FakeClock(now), interval=15)

    assert await watchdog.run_once() == 2

    rows = await stored_events(sessions)
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
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    await _tenant_incident(sessions, tasks=DEFAULT_TASKS[:1])
    clock = FakeClock(DETECTED_AT + timedelta(hours=1))
    down = DeadlineWatchdog(sessions, cast(ArqRedis, _DownRedis()), clock, interval=15)

    assert await down.run_once() == 1
    assert await queued_events(redis) == {}
    assert await DeadlineWatchdog(sessions, redis, clock, interval=15).run_once() == 0

    relayed = await outbox.relay_once(sessions, redis, PRODUCER, older_than=timedelta(0))

    assert relayed == 1
    (payload,) = (await queued_events(redis)).values()
    (row,) = await stored_events(sessions)
    assert IntegrationEventEmitted.model_validate(payload).event_id == row.id


@pytest.mark.parametrize(
    "status",
    [
        IncidentStatus.RESOLVED,
        IncidentStatus.CLOSED,
        IncidentStatus.MERGED,
        IncidentStatus.FALSE_ALARM,
    ],
)
async def test_tasks_of_finished_incidents_never_breach(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    status: IncidentStatus,
) -> None:
    tenant = await make_tenant(sessions)
    finished = await make_incident(sessions, tenant.org.id, name="旧事", status=status)
    live = await make_incident(sessions, tenant.org.id, name="新事", tasks=DEFAULT_TASKS[:1])
    watchdog = DeadlineWatchdog(
        sessions, redis, FakeClock(DETECTED_AT + timedelta(days=30)), interval=15
    )

    assert await watchdog.run_once() == 1

    assert all(
        task.status == TaskStatus.OPEN and task.breached_at is None and task.escalated_to is None
        for task in (await load_tasks(sessions, finished.incident)).values()
    )
    assert await timeline(sessions, finished.incident, "task_overdue") == []
    assert (await load_tasks(sessions, live.incident))["acknowledge"].status == TaskStatus.OVERDUE


async def test_a_task_reopened_after_its_breach_does_not_fire_again(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    staged = await _tenant_incident(sessions, tasks=DEFAULT_TASKS[:1])
    clock = FakeClock(DETECTED_AT + timedelta(hours=1))
    assert await DeadlineWatchdog(sessions, redis, clock, interval=15).run_once() == 1
    async with transaction(sessions) as session:
        task = await session.get(ResponseTask, staged.tasks["acknowledge"].id)
        assert task is not None
        task.status = TaskStatus.OPEN.value
        session.add(task)

    clock.at += timedelta(hours=1)
    assert await DeadlineWatchdog(sessions, redis, clock, interval=15).run_once() == 0
    assert len(await stored_events(sessions)) == 1


async def test_done_tasks_never_breach(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    specs = [
        TaskSpec("acknowledge", "确认事件并启动监测", timedelta(minutes=30), None, TaskStatus.DONE),
        TaskSpec("confirm_scope", "确认影响范围", timedelta(hours=2), None),
    ]
    staged = await _tenant_incident(sessions, tasks=specs)
    watchdog = DeadlineWatchdog(
        sessions, redis, FakeClock(DETECTED_AT + timedelta(hours=3)), interval=15
    )

    assert await watchdog.run_once() == 1

    stored = await load_tasks(sessions, staged.incident)
    assert stored["acknowledge"].status == TaskStatus.DONE
    assert stored["acknowledge"].breached_at is None
    assert stored["confirm_scope"].status == TaskStatus.OVERDUE


async def test_check_refuses_a_naive_time(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
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
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    staged = await _tenant_incident(sessions, tasks=DEFAULT_TASKS[:2])
    watchdog = _SignallingWatchdog(
        sessions, redis, FakeClock(DETECTED_AT + timedelta(hours=5)), interval=3600
    )

    watchdog.start()
    try:
        first = await asyncio.wait_for(watchdog.passes.get(), timeout=10)
    finally:
        await watchdog.stop()

    assert first == 2
    assert watchdog.passes.empty()
    stored = await load_tasks(sessions, staged.incident)
    assert {task.status for task in stored.values()} == {TaskStatus.OVERDUE}


def test_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
