"""A message is delivered when its consumer applied it, not when it reached Redis.

The outbox guarantees a message reaches Redis; it cannot know whether the consumer ever
applied it. A job can still vanish after that: Redis restarted without its file, a job
deleted after its last try, a flush. For the messages a crisis depends on (risk signals
into incidents, integration events into notify) the producer therefore checks, a few
seconds on, that a receipt exists (the consumer writes it in the transaction that applies
the message) and, when none does and the job is neither waiting nor running, sends the
same message again under the same id. The receipt makes a late duplicate a no-op; a
message kept as a dead letter waits for a person instead.
"""

import logging
from datetime import timedelta

from arq.connections import ArqRedis
from arq.jobs import JobStatus
from sqlalchemy import exists
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CONFIRMED_MESSAGES
from libs.database.tables import DeadLetter, MessageReceipt, OutboxMessage
from libs.database.tables._types import utcnow
from libs.messaging.publisher import job_status, requeue

log = logging.getLogger(__name__)

_WAITING = frozenset({JobStatus.queued, JobStatus.deferred, JobStatus.in_progress})
CONFIRM_AFTER = timedelta(seconds=10)
CONFIRM_WITHIN = timedelta(days=1)


async def unconfirmed(
    session: AsyncSession,
    producer: str,
    *,
    older_than: timedelta = CONFIRM_AFTER,
    within: timedelta = CONFIRM_WITHIN,
    limit: int = 200,
) -> list[OutboxMessage]:
    """Return this producer's published messages no consumer has applied yet, newest first."""
    now = utcnow()
    applied = exists().where(col(MessageReceipt.message_id) == col(OutboxMessage.id))
    # A dead letter holds a message back until it is re-driven; after that it is owed again.
    kept = exists().where(
        col(DeadLetter.message_id) == col(OutboxMessage.id), col(DeadLetter.redriven_at).is_(None)
    )
    rows = await session.exec(
        select(OutboxMessage)
        .where(
            col(OutboxMessage.producer) == producer,
            col(OutboxMessage.job_name).in_(sorted(CONFIRMED_MESSAGES)),
            col(OutboxMessage.published_at).is_not(None),
            col(OutboxMessage.created_at) < now - older_than,
            col(OutboxMessage.created_at) > now - within,
            ~applied,
            ~kept,
        )
        .order_by(col(OutboxMessage.created_at).desc())
        .limit(limit)
    )
    return list(rows.all())


async def confirm_once(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    producer: str,
    *,
    older_than: timedelta = CONFIRM_AFTER,
) -> int:
    """Send again what was published but never applied and is no longer queued; return how many."""
    async with sessions() as session:
        rows = await unconfirmed(session, producer, older_than=older_than)
    sent = 0
    for row in rows:
        job_id = str(row.id)
        if await job_status(redis, row.queue, job_id) in _WAITING:
            continue
        sent += await requeue(redis, row.queue, row.job_name, job_id, row.payload)
    if sent:
        log.warning("%s: sent %d unapplied messages again", producer, sent)
    return sent
