"""The transactional outbox: messages are stored with the change, then published after commit."""

import logging
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import Message
from libs.database.engine import transaction
from libs.database.tables import OutboxMessage
from libs.database.tables._types import utcnow
from libs.messaging import confirmation
from libs.messaging.periodic import Periodic
from libs.messaging.publisher import enqueue
from libs.messaging.sealing import seal_message
from libs.tracing.propagation import producing, sending

log = logging.getLogger(__name__)


def add(session: AsyncSession, producer: str, message: Message) -> OutboxMessage:
    """Stage `message` in the caller's transaction; it is published only if that commits.

    Traced, the message is stamped here with the trace of the work that staged it, not
    when (or by which process) it is eventually published. A message carrying a sealed value
    is refused (`SealingError`): the outbox keeps payloads in PostgreSQL, where it would lie
    in clear; such messages are commands, sent sealed by `publisher.call`.
    """
    with producing(message, queue=message.QUEUE) as stamped:
        row = OutboxMessage(
            id=stamped.message_id,
            producer=producer,
            queue=stamped.QUEUE,
            job_name=stamped.job_name(),
            payload=seal_message(stamped, None),
        )
    session.add(row)
    return row


async def flush(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    rows: list[OutboxMessage],
) -> None:
    """Publish rows committed a moment ago and mark them sent; failures are left to the relay."""
    if not rows:
        return
    sent = []
    try:
        with sending([row.payload for row in rows]):
            for row in rows:
                await enqueue(redis, row.queue, row.job_name, str(row.id), row.payload)
                sent.append(row.id)
    except Exception:
        log.exception("publishing %d outbox messages failed; the relay will retry", len(rows))
    if not sent:
        return
    try:
        async with transaction(sessions) as session:
            await session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_(sent))
                .values(published_at=utcnow())
            )
    except Exception:
        # The change is committed and the messages are out; if marking them fails, the
        # relay publishes them again and the job ids make the copies no-ops.
        log.exception("marking %d outbox messages published failed", len(sent))


async def relay_once(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    producer: str,
    *,
    older_than: timedelta = timedelta(seconds=5),
    limit: int = 500,
) -> int:
    """Publish this producer's messages left unpublished by a crash; return how many."""
    async with sessions() as session:
        result = await session.exec(
            select(OutboxMessage)
            .where(
                col(OutboxMessage.producer) == producer,
                col(OutboxMessage.published_at).is_(None),
                col(OutboxMessage.created_at) < utcnow() - older_than,
            )
            .order_by(col(OutboxMessage.created_at))
            .limit(limit)
        )
        rows = list(result.all())
    await flush(sessions, redis, rows)
    return len(rows)


class Relay(Periodic):
    """A producer's background relay: publishes what a crash left unpublished, and sends
    again what was published but never applied (`libs.messaging.confirmation`)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: ArqRedis,
        producer: str,
        *,
        interval: float,
    ) -> None:
        async def step() -> None:
            count = await relay_once(sessions, redis, producer)
            if count:
                log.warning("outbox relay re-published %d %s messages", count, producer)
            await confirmation.confirm_once(sessions, redis, producer)

        super().__init__(f"{producer} outbox relay", step, interval=interval)
