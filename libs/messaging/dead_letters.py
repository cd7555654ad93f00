"""Dead letters: messages a handler could not apply, kept with their error until re-driven.

A handler that raises for a reason retrying cannot fix (a bug, data it cannot handle)
rolls its transaction back; the harness then stores the message here, in a transaction of
its own, so an operator can see what failed and why (`crisiswatch jobs list`) and send it
again once the cause is fixed (`crisiswatch jobs redrive`). Re-driving keeps the message
id, so the receipt makes a message applied in the meantime a no-op.
"""

import json
import uuid
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables import DeadLetter
from libs.database.tables._types import utcnow
from libs.database.upsert import incoming
from libs.messaging.publisher import requeue

ERROR_LIMIT = 4000
_MALFORMED = uuid.UUID("3f7c2b1e-5a8d-4e6f-9b0c-1d2e3f4a5b6c")


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


async def record(
    sessions: async_sessionmaker[AsyncSession],
    *,
    consumer: str,
    queue: str,
    job_name: str,
    payload: dict[str, Any],
    error: str,
) -> None:
    """Keep a message that failed for good, or count one more failure of a kept one.

    A malformed message may lack a usable id: it is kept under one derived from its content,
    so the same bad payload is one dead letter, counted, not a new one each time.
    """
    message_id = _uuid(payload.get("message_id")) or uuid.uuid5(
        _MALFORMED, json.dumps(payload, sort_keys=True, default=str)
    )
    statement = insert(DeadLetter).values(
        consumer=consumer,
        message_id=message_id,
        queue=queue,
        job_name=job_name,
        organization_id=_uuid(payload.get("organization_id")),
        payload=payload,
        error=error[:ERROR_LIMIT],
        tries=1,
        failed_at=utcnow(),
    )
    async with transaction(sessions) as session:
        await session.exec(
            statement.on_conflict_do_update(
                index_elements=["consumer", "message_id"],
                set_={
                    **incoming(statement, "error", "failed_at"),
                    "tries": col(DeadLetter.tries) + 1,
                    "redriven_at": None,
                },
            )
        )


async def pending(
    session: AsyncSession, *, consumer: str | None = None, limit: int = 100
) -> list[DeadLetter]:
    """Return dead letters not re-driven since they last failed, newest first."""
    query = select(DeadLetter).where(col(DeadLetter.redriven_at).is_(None))
    if consumer is not None:
        query = query.where(col(DeadLetter.consumer) == consumer)
    rows = await session.exec(query.order_by(col(DeadLetter.failed_at).desc()).limit(limit))
    return list(rows.all())


async def redrive(
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    message_id: uuid.UUID,
    *,
    consumer: str | None = None,
) -> int:
    """Queue the dead letters of `message_id` again under the same id; return how many."""
    async with transaction(sessions) as session:
        query = select(DeadLetter).where(col(DeadLetter.message_id) == message_id)
        if consumer is not None:
            query = query.where(col(DeadLetter.consumer) == consumer)
        letters = list((await session.exec(query.with_for_update())).all())
        for letter in letters:
            await requeue(
                redis, letter.queue, letter.job_name, str(letter.message_id), letter.payload
            )
            letter.redriven_at = utcnow()
            session.add(letter)
    return len(letters)
