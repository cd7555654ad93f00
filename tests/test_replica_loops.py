"""The loops every replica runs unleased do their work once, however many run at once.

Each replica of a producer runs the outbox relay and its confirmation step
(`libs/messaging/outbox.py`, `libs/messaging/confirmation.py`) without a lease: rows are read
without locks, so several replicas read the same ones. What keeps the work single is the
job id: a message is queued under its own id, and arq refuses an id already queued or
answered. These tests run three replicas' passes at the same moment on the same rows.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from sqlalchemy import update
from sqlmodel import col, select

from libs.contracts.enums import Tier
from libs.contracts.messages import MentionIngested, RiskSignalRaised
from libs.database.engine import transaction
from libs.database.tables import OutboxMessage
from libs.messaging import outbox, publisher
from libs.messaging.confirmation import confirm_once
from tests.builders import Sessions, make_tenant

REPLICAS = 3


async def _queued(redis: ArqRedis, queue: str) -> list[str]:
    return sorted(job.decode() for job in await redis.zrange(queue, 0, -1))


async def test_relays_of_several_replicas_publish_each_message_once(
    sessions: Sessions, redis: ArqRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []

    async def enqueue(redis: ArqRedis, queue: str, job: str, message_id: str, payload: Any) -> bool:
        # The real enqueue, watched: which replica's publish did Redis take?
        queued = await publisher.enqueue(redis, queue, job, message_id, payload)
        if queued:
            taken.append(message_id)
        return queued

    monkeypatch.setattr(outbox, "enqueue", enqueue)
    tenant = await make_tenant(sessions)
    messages = [
        MentionIngested(organization_id=tenant.org.id, mention_ids=[uuid.uuid4()])
        for _ in range(20)
    ]
    async with transaction(sessions) as session:
        for message in messages:
            outbox.add(session, "ingest", message)
    # Nothing flushed: every replica's relay finds all twenty at once.
    await asyncio.gather(
        *(
            outbox.relay_once(sessions, redis, "ingest", older_than=timedelta(0))
            for _ in range(REPLICAS)
        )
    )
    assert sorted(taken) == sorted(str(m.message_id) for m in messages)
    assert await _queued(redis, MentionIngested.QUEUE) == sorted(taken)
    async with sessions() as session:
        unpublished = await session.exec(
            select(OutboxMessage).where(col(OutboxMessage.published_at).is_(None))
        )
        assert unpublished.all() == []


async def test_confirmations_of_several_replicas_send_a_lost_signal_once(
    sessions: Sessions, redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    lost = [
        RiskSignalRaised(
            organization_id=tenant.org.id,
            signal_id=uuid.uuid4(),
            watchlist_id=uuid.uuid4(),
            watchlist_name="奶粉",
            tier=Tier.RED,
            score=0.9,
            reasons=["负面声量激增"],
            detected_at=datetime.now(UTC),
        )
        for _ in range(5)
    ]
    async with transaction(sessions) as session:
        for message in lost:
            outbox.add(session, "analysis", message)
    async with transaction(sessions) as session:
        minute_ago = datetime.now(UTC) - timedelta(minutes=1)
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_([m.message_id for m in lost]))
            .values(created_at=minute_ago, published_at=minute_ago)
        )
    # Published a minute ago, never applied, gone from Redis: every replica sees all five.
    sent = await asyncio.gather(
        *(confirm_once(sessions, redis, "analysis") for _ in range(REPLICAS))
    )
    assert sum(sent) == len(lost)
    assert await _queued(redis, RiskSignalRaised.QUEUE) == sorted(str(m.message_id) for m in lost)
