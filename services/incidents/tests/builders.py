"""Builders and runners for the incidents tests: watchlists, signals and a real worker."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.worker import Worker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import CrisisType, Tier
from libs.contracts.messages import Command, CommandResult, Message, RiskSignalRaised
from libs.contracts.outcome import Outcome
from libs.database.engine import transaction
from libs.database.tables import (
    Incident,
    IntegrationEvent,
    ResponseTask,
    RiskSignal,
    TimelineEvent,
    Watchlist,
)
from libs.messaging.publisher import publish
from libs.settings import Settings
from services.incidents.service import SignalOutcome, apply_signal
from services.incidents.worker import create_worker
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

DETECTED_AT = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


async def make_watchlist(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, name: str = "奶粉"
) -> Watchlist:
    """Create a watchlist as the analysis service would."""
    async with transaction(sessions) as session:
        watchlist = Watchlist(organization_id=organization_id, name=name, keywords=[name])
        session.add(watchlist)
    return watchlist


async def make_signal(
    sessions: async_sessionmaker[AsyncSession],
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


def settings_for(servers: Servers) -> Settings:
    """Return settings pointing at the test backend."""
    return Settings(database_url=servers.database_url, redis_url=servers.redis_url)


async def deliver(redis: ArqRedis, servers: Servers, *messages: Message) -> Worker:
    """Queue `messages` and run the incidents worker until its queue is empty."""
    for message in messages:
        await publish(redis, message)
    worker = create_worker(settings_for(servers), burst=True, handle_signals=False)
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


async def incidents_of(
    sessions: async_sessionmaker[AsyncSession], watchlist: Watchlist
) -> list[Incident]:
    """Return every incident of `watchlist`."""
    async with sessions() as session:
        result = await session.exec(select(Incident).where(Incident.watchlist_id == watchlist.id))
        return list(result.all())


async def tasks_of(
    sessions: async_sessionmaker[AsyncSession], incident: Incident
) -> list[ResponseTask]:
    """Return the incident's response tasks in playbook order."""
    async with sessions() as session:
        result = await session.exec(
            select(ResponseTask)
            .where(ResponseTask.incident_id == incident.id)
            .order_by(ResponseTask.position)  # type: ignore[arg-type]
        )
        return list(result.all())


async def timeline_of(
    sessions: async_sessionmaker[AsyncSession], incident: Incident
) -> list[TimelineEvent]:
    """Return the incident's timeline, oldest first."""
    async with sessions() as session:
        result = await session.exec(
            select(TimelineEvent)
            .where(TimelineEvent.incident_id == incident.id)
            .order_by(TimelineEvent.occurred_at, TimelineEvent.kind)  # type: ignore[arg-type]
        )
        return list(result.all())


async def events_of(
    sessions: async_sessionmaker[AsyncSession], incident: Incident
) -> list[IntegrationEvent]:
    """Return the integration events stored for the incident, oldest first, then by type."""
    async with sessions() as session:
        result = await session.exec(
            select(IntegrationEvent)
            .where(IntegrationEvent.incident_id == incident.id)
            .order_by(IntegrationEvent.occurred_at, IntegrationEvent.type)  # type: ignore[arg-type]
        )
        return list(result.all())


async def reload(sessions: async_sessionmaker[AsyncSession], incident: Incident) -> Incident:
    """Return the stored state of `incident`."""
    async with sessions() as session:
        fresh = await session.get(Incident, incident.id)
    assert fresh is not None
    return fresh


async def open_incident(
    sessions: async_sessionmaker[AsyncSession],
    watchlist: Watchlist,
    tier: Tier = Tier.YELLOW,
    *,
    detected_at: datetime = DETECTED_AT,
    story_id: uuid.UUID | None = None,
    crisis_type: CrisisType | None = None,
) -> Incident:
    """Apply a fresh signal for `watchlist` and return the incident it landed in."""
    signal = await make_signal(
        sessions,
        watchlist,
        tier,
        detected_at=detected_at,
        story_id=story_id,
        crisis_type=crisis_type,
    )
    outcome = await apply(sessions, signal, now=detected_at)
    assert outcome.incident is not None
    return outcome.incident


async def apply(
    sessions: async_sessionmaker[AsyncSession], signal: RiskSignalRaised, *, now: datetime
) -> SignalOutcome:
    """Apply `signal` in its own committed transaction at `now`."""
    async with transaction(sessions) as session:
        return await apply_signal(session, signal, now=now)


async def run(
    sessions: async_sessionmaker[AsyncSession],
    handler: Callable[..., Awaitable[Any]],
    command: Command,
    *,
    now: datetime,
) -> tuple[CommandResult, list[Message]]:
    """Run a command handler in its own transaction at `now`, as the worker would."""
    async with transaction(sessions) as session:
        answered = await handler(session, command, now=now)
    if isinstance(answered, Outcome):
        assert answered.result is not None
        return answered.result, list(answered.messages)
    result, messages = answered
    return result, messages


async def force(
    sessions: async_sessionmaker[AsyncSession], incident: Incident, **values: Any
) -> Incident:
    """Set columns of `incident` directly, to start a test from a given state."""
    async with transaction(sessions) as session:
        stored = await session.get(Incident, incident.id)
        assert stored is not None
        for name, value in values.items():
            setattr(stored, name, value)
        session.add(stored)
    return stored
