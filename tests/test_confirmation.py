"""Signals and events are sent again until their consumer applied them."""

import uuid
from datetime import UTC, datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Tier
from libs.contracts.messages import MentionIngested, Message, RiskSignalRaised
from libs.database.engine import transaction
from libs.database.tables import DeadLetter, MessageReceipt, OutboxMessage
from libs.messaging import outbox
from libs.messaging.confirmation import confirm_once
from tests.builders import make_tenant


def _signal(organization_id: uuid.UUID) -> RiskSignalRaised:
    return RiskSignalRaised(
        organization_id=organization_id,
        signal_id=uuid.uuid4(),
        watchlist_id=uuid.uuid4(),
        watchlist_name="奶粉",
        tier=Tier.RED,
        score=0.9,
        reasons=["负面声量激增"],
        detected_at=datetime.now(UTC),
    )


async def _published_a_minute_ago(
    sessions: async_sessionmaker[AsyncSession], *messages: Message
) -> None:
    async with transaction(sessions) as session:
        for message in messages:
            outbox.add(session, "analysis", message)
    async with transaction(sessions) as session:
        minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([m.message_id for m in messages]))
            .values(created_at=minute_ago, published_at=minute_ago)
        )


async def _queued(redis: ArqRedis, queue: str) -> list[str]:
    return sorted(job.decode() for job in await redis.zrange(queue, 0, -1))


async def test_a_signal_lost_from_redis_is_sent_again_under_its_id(
    sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    lost, applied, kept = (_signal(tenant.org.id) for _ in range(3))
    # Not a confirmed kind: mentions have their own reconciler.
    batch = MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
    await _published_a_minute_ago(sessions, lost, applied, kept, batch)
    async with transaction(sessions) as session:
        session.add(
            MessageReceipt(consumer="incidents", message_id=applied.message_id, message_name="x.v1")
        )
        session.add(
            DeadLetter(
                consumer="incidents",
                message_id=kept.message_id,
                queue=kept.QUEUE,
                job_name=kept.job_name(),
                payload=kept.model_dump(mode="json"),
                error="ValueError",
            )
        )
    assert await confirm_once(sessions, redis, "analysis") == 1
    assert await _queued(redis, lost.QUEUE) == [str(lost.message_id)]
    # Still queued: a second sweep sends nothing more.
    assert await confirm_once(sessions, redis, "analysis") == 0
    assert await _queued(redis, lost.QUEUE) == [str(lost.message_id)]
    assert await _queued(redis, batch.QUEUE) == []


async def test_a_fresh_signal_is_left_to_its_first_delivery(
    sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    fresh = _signal(tenant.org.id)
    async with transaction(sessions) as session:
        row = outbox.add(session, "analysis", fresh)
    await outbox.flush(sessions, redis, [row])
    # Published a moment ago and then lost: too fresh to be owed yet.
    await redis.delete(f"arq:job:{fresh.message_id}")
    await redis.zrem(fresh.QUEUE, str(fresh.message_id))
    assert await confirm_once(sessions, redis, "analysis") == 0
    assert await _queued(redis, fresh.QUEUE) == []
