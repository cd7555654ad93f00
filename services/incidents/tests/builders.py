"""Builders and runners for the incidents tests: watchlists, signals and a real worker."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.worker import Worker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Tier
from libs.contracts.messages import Message, RiskSignalRaised
from libs.database.engine import transaction
from libs.database.tables import Incident, ResponseTask, RiskSignal, TimelineEvent, Watchlist
from libs.messaging.publisher import publish
from libs.settings import Settings
from services.incidents.worker import create_worker
from tests.fixtures.servers import Servers

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
    task = asyncio.create_task(worker.async_run())
    try:
        yield worker
    finally:
        await worker.close()
        with suppress(asyncio.CancelledError):
            await task


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
