"""Builders and runners for the incidents tests: rows, signals, commands and a real worker.

Every builder takes a session factory and commits through it, so the same builder serves a
test on `rolled_back` (its commits are savepoints, undone at the end) and one on `sessions`
(needed where two connections run at once: locks, concurrent workers, a real worker).
Each test builds its own organization (`make_org`) and reads only that organization's rows.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.worker import Worker
from sqlmodel import col, select

from libs.clock import Clock, FixedClock
from libs.contracts.enums import (
    ContactKind,
    CrisisType,
    IncidentStatus,
    TaskStatus,
    TeamRole,
    Tier,
)
from libs.contracts.messages import (
    EVENTS_QUEUE,
    Command,
    CommandResult,
    Message,
    RiskSignalRaised,
    RiskTierFell,
)
from libs.contracts.outcome import Outcome
from libs.contracts.response import AddAffectedUser, IntegrationEventEmitted
from libs.database.engine import transaction
from libs.database.tables import (
    Incident,
    IncidentMember,
    IntegrationEvent,
    ResponseTask,
    RiskSignal,
    TimelineEvent,
    Watchlist,
)
from libs.messaging.publisher import publish
from libs.privacy import DataKey
from libs.settings import Settings
from services.incidents.signals.service import apply_signal
from services.incidents.worker import create_worker
from tests.builders import Sessions, organization, read_all
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

DETECTED_AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
# An hour after detection: when grouping and recurrence tests act on what a signal opened.
NOW = DETECTED_AT + timedelta(hours=1)
# The story those tests group signals by.
STORY = uuid.UUID("0b7a1f0e-52d4-4c1a-9a55-2f1b8d3c6e71")


@dataclass(frozen=True)
class Context:
    """What a worker gives the service façade: a clock and, maybe, the contacts' data key."""

    clock: Clock
    data_key: DataKey | None = None


def at(now: datetime, data_key: DataKey | None = None) -> Context:
    """Return a façade context whose clock stands at `now`."""
    return Context(FixedClock(now), data_key)


# --- organizations, watchlists, incidents ------------------------------------------------


async def make_org(sessions: Sessions) -> uuid.UUID:
    """Create a fresh organization (a unique slug) and return its id."""
    async with transaction(sessions) as session:
        org = await organization(session)
    return org.id


async def make_watchlist(
    sessions: Sessions, organization_id: uuid.UUID | None = None, name: str = "奶粉"
) -> Watchlist:
    """Create a watchlist as the analysis service would, in a fresh organization by default."""
    organization_id = organization_id or await make_org(sessions)
    async with transaction(sessions) as session:
        watchlist = Watchlist(organization_id=organization_id, name=name, keywords=[name])
        session.add(watchlist)
    return watchlist


@dataclass(frozen=True)
class TaskSpec:
    """A response task to stage: kind, title, time after detection, owning role."""

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
    """An incident staged for a test, with its watchlist and its tasks by kind."""

    incident: Incident
    watchlist: Watchlist
    tasks: dict[str, ResponseTask] = field(default_factory=dict)


async def stage_incident(
    sessions: Sessions,
    organization_id: uuid.UUID | None = None,
    *,
    name: str = "奶粉",
    tier: Tier = Tier.ORANGE,
    status: IncidentStatus = IncidentStatus.RESPONDING,
    detected_at: datetime = DETECTED_AT,
    tasks: Sequence[TaskSpec] = (),
    members: Sequence[tuple[TeamRole, str, datetime]] = (),
    **columns: Any,
) -> Staged:
    """Stage an incident row directly (no signal, no playbook), with given tasks and team."""
    watchlist = await make_watchlist(sessions, organization_id, name)
    org = watchlist.organization_id
    async with transaction(sessions) as session:
        incident = Incident(
            organization_id=org,
            watchlist_id=watchlist.id,
            title=columns.pop("title", f"「{name}」中度舆情危机"),
            tier=tier.value,
            status=status.value,
            detected_at=detected_at,
            **columns,
        )
        session.add(incident)
        await session.flush()
        rows = {}
        for position, spec in enumerate(tasks):
            row = ResponseTask(
                organization_id=org,
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
                    organization_id=org,
                    incident_id=incident.id,
                    role=role.value,
                    person=person,
                    assigned_at=assigned_at,
                )
            )
    return Staged(incident, watchlist, rows)


async def force(sessions: Sessions, incident: Incident, **values: Any) -> Incident:
    """Set columns of `incident` directly, to start a test from a given state."""
    async with transaction(sessions) as session:
        stored = await session.get(Incident, incident.id)
        assert stored is not None
        for name, value in values.items():
            setattr(stored, name, value)
        session.add(stored)
    return stored


# --- signals -------------------------------------------------------------------------------


async def make_fall(
    sessions: Sessions,
    watchlist: Watchlist,
    previous: Tier,
    tier: Tier | None,
    *,
    detected_at: datetime = DETECTED_AT,
) -> RiskTierFell:
    """Store the risk signal row of a fall and return the message analysis would publish."""
    stored = await make_signal(
        sessions, watchlist, tier or Tier.BLUE, score=10.0, detected_at=detected_at
    )
    same = {"organization_id", "signal_id", "watchlist_id", "watchlist_name", "score"}
    return RiskTierFell(
        **stored.model_dump(include=same),
        previous_tier=previous,
        tier=tier,
        reasons=["窗口内声量回落"],
        detected_at=detected_at,
    )


async def make_signal(
    sessions: Sessions,
    watchlist: Watchlist,
    tier: Tier,
    *,
    score: float = 0.5,
    reasons: list[str] | None = None,
    detected_at: datetime = DETECTED_AT,
    story_id: uuid.UUID | None = None,
    crisis_type: CrisisType | None = None,
) -> RiskSignalRaised:
    """Store a risk signal row and return the message analysis would publish for it."""
    reasons = reasons if reasons is not None else [f"{tier.value} 级风险"]
    async with transaction(sessions) as session:
        row = RiskSignal(
            organization_id=watchlist.organization_id,
            watchlist_id=watchlist.id,
            tier=tier.value,
            score=score,
            reasons=reasons,
            window_start=detected_at - timedelta(minutes=15),
            window_end=detected_at,
        )
        session.add(row)
    return RiskSignalRaised(
        organization_id=watchlist.organization_id,
        signal_id=row.id,
        watchlist_id=watchlist.id,
        watchlist_name=watchlist.name,
        tier=tier,
        score=score,
        reasons=reasons,
        detected_at=detected_at,
        story_id=story_id,
        crisis_type=crisis_type,
    )


async def apply(sessions: Sessions, signal: RiskSignalRaised, *, now: datetime) -> Outcome:
    """Apply `signal` in its own committed transaction, its clock standing at `now`."""
    async with transaction(sessions) as session:
        return await apply_signal(session, signal, clock=FixedClock(now))


async def landed(sessions: Sessions, signal: RiskSignalRaised) -> Incident | None:
    """Return the incident `signal` joined, raised, reopened or opened; None if dropped."""
    async with sessions() as session:
        result = await session.exec(
            select(Incident).where(Incident.last_signal_id == signal.signal_id)
        )
        return result.one_or_none()


async def open_incident(
    sessions: Sessions,
    watchlist: Watchlist,
    tier: Tier = Tier.YELLOW,
    *,
    detected_at: datetime = DETECTED_AT,
    story_id: uuid.UUID | None = None,
    crisis_type: CrisisType | None = None,
    **columns: Any,
) -> Incident:
    """Apply a fresh signal for `watchlist` and return the incident it landed in.

    `columns` are then set directly (see `force`), to start a test from a given state.
    """
    signal = await make_signal(
        sessions,
        watchlist,
        tier,
        detected_at=detected_at,
        story_id=story_id,
        crisis_type=crisis_type,
    )
    await apply(sessions, signal, now=detected_at)
    incident = await landed(sessions, signal)
    assert incident is not None
    return await force(sessions, incident, **columns) if columns else incident


# --- commands ------------------------------------------------------------------------------

CommandT = TypeVar("CommandT", bound=Command)


def command_about(
    kind: type[CommandT], incident: Incident, actor: str = "key-commander", **fields: Any
) -> CommandT:
    """Return a `kind` command about `incident`, sent by `actor` of its organization."""
    about = {"organization_id": incident.organization_id, "incident_id": incident.id}
    return kind.model_validate({**about, "actor": actor, **fields})


def add_user_command(incident: Incident, actor: str = "key-cs", **fields: Any) -> AddAffectedUser:
    """Return a command registering 王小明, reachable by phone, as harmed by `incident`."""
    user = {"name": "王小明", "contact_kind": ContactKind.PHONE, "contact": "13800135678"}
    return command_about(AddAffectedUser, incident, actor, **(user | fields))


async def run(
    sessions: Sessions,
    handler: Callable[..., Awaitable[Outcome]],
    command: Command,
    *,
    now: datetime,
) -> tuple[CommandResult, list[Message]]:
    """Run a command handler in its own transaction at `now`; return its answer and events."""
    async with transaction(sessions) as session:
        outcome = await handler(session, command, now=now)
    assert outcome.result is not None, "a command is always answered"
    return outcome.result, list(outcome.messages)


def integration_events(messages: Sequence[Message]) -> list[IntegrationEventEmitted]:
    """Return `messages`, each checked to be an integration event."""
    found = [m for m in messages if isinstance(m, IntegrationEventEmitted)]
    assert len(found) == len(messages), messages
    return found


# --- reading back --------------------------------------------------------------------------


async def reload(sessions: Sessions, incident: Incident) -> Incident:
    """Return the stored state of `incident`."""
    async with sessions() as session:
        fresh = await session.get(Incident, incident.id)
    assert fresh is not None
    return fresh


async def incidents_of(sessions: Sessions, watchlist: Watchlist) -> list[Incident]:
    """Return every incident of `watchlist`."""
    return await read_all(sessions, select(Incident).where(Incident.watchlist_id == watchlist.id))


async def tasks_of(sessions: Sessions, incident: Incident) -> list[ResponseTask]:
    """Return the incident's response tasks in playbook order."""
    query = select(ResponseTask).where(ResponseTask.incident_id == incident.id)
    return await read_all(sessions, query.order_by(col(ResponseTask.position)))


async def tasks_by_kind(sessions: Sessions, incident: Incident) -> dict[str, ResponseTask]:
    """Return the incident's tasks as stored now, by kind."""
    return {task.kind: task for task in await tasks_of(sessions, incident)}


async def timeline_of(
    sessions: Sessions, incident: Incident, kind: str | None = None
) -> list[TimelineEvent]:
    """Return the incident's timeline (only events of `kind`, if given), oldest first."""
    query = select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
    if kind is not None:
        query = query.where(TimelineEvent.kind == kind)
    return await read_all(
        sessions, query.order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.kind))
    )


async def events_of(sessions: Sessions, incident: Incident) -> list[IntegrationEvent]:
    """Return the integration events stored for the incident, oldest first, then by type."""
    query = select(IntegrationEvent).where(IntegrationEvent.incident_id == incident.id)
    return await read_all(
        sessions, query.order_by(col(IntegrationEvent.occurred_at), col(IntegrationEvent.type))
    )


async def stored_events(sessions: Sessions, organization_id: uuid.UUID) -> list[IntegrationEvent]:
    """Return every integration event stored for the organization, oldest first."""
    query = select(IntegrationEvent).where(IntegrationEvent.organization_id == organization_id)
    return await read_all(sessions, query.order_by(col(IntegrationEvent.occurred_at)))


async def queued_events(redis: ArqRedis) -> dict[str, dict[str, Any]]:
    """Return the jobs waiting on the events queue: payload by job id."""
    jobs = await redis.queued_jobs(queue_name=EVENTS_QUEUE)
    return {job.job_id: job.args[0] for job in jobs if job.job_id is not None}


# --- a real worker -------------------------------------------------------------------------


def settings_for(servers: Servers) -> Settings:
    """Return settings pointing at the test backend."""
    return Settings(database_url=servers.database_url, redis_url=servers.redis_url)


async def deliver(
    redis: ArqRedis, servers: Servers, *messages: Message, clock: Clock | None = None
) -> Worker:
    """Queue `messages` and run the incidents worker until its queue is empty.

    The worker reads the time from `clock` (the wall clock by default).
    """
    for message in messages:
        await publish(redis, message)
    worker = create_worker(settings_for(servers), burst=True, handle_signals=False, clock=clock)
    await worker.main()
    await worker.close()
    return worker


async def forget_delivery(redis: ArqRedis, message: Message) -> None:
    """Drop arq's record of a finished job so the same message can be queued again."""
    await redis.delete(result_key_prefix + str(message.message_id))


@asynccontextmanager
async def running_worker(servers: Servers) -> AsyncIterator[Worker]:
    """Run the incidents worker in the background for the duration of the block."""
    worker = create_worker(settings_for(servers), handle_signals=False)
    async with running_workers(worker):
        yield worker
