"""The SQL of `idempotency_record`; takes the caller's session and never commits."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IdempotencyRecord
from libs.database.upsert import incoming_except

IN_PROGRESS = "in_progress"
COMPLETED = "completed"


async def take(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key: str,
    route: str,
    hashed: str,
    now: datetime,
    expires_at: datetime,
    stale_before: datetime,
) -> bool:
    """Insert an in-progress record for `key`, or replace one that is over; say if it took."""
    statement = insert(IdempotencyRecord).values(
        organization_id=organization_id,
        key=key,
        route=route,
        request_hash=hashed,
        status=IN_PROGRESS,
        response_status=None,
        response_body=None,
        created_at=now,
        expires_at=expires_at,
    )
    taken = await session.exec(
        statement.on_conflict_do_update(
            index_elements=["organization_id", "key"],
            # The new claim replaces the record whole (its answer is still empty).
            set_=incoming_except(statement, "organization_id", "key"),
            # Replace only what is over: an expired record, or the same request's claim
            # abandoned by a process that died before finishing it.
            where=or_(
                col(IdempotencyRecord.expires_at) <= now,
                and_(
                    col(IdempotencyRecord.status) == IN_PROGRESS,
                    col(IdempotencyRecord.created_at) <= stale_before,
                    col(IdempotencyRecord.request_hash) == hashed,
                    col(IdempotencyRecord.route) == route,
                ),
            ),
        ).returning(col(IdempotencyRecord.key))
    )
    return taken.first() is not None


async def find(
    session: AsyncSession, organization_id: uuid.UUID, key: str
) -> IdempotencyRecord | None:
    """Return the record of `key` in this organization, or None."""
    found = await session.exec(
        select(IdempotencyRecord).where(
            col(IdempotencyRecord.organization_id) == organization_id,
            col(IdempotencyRecord.key) == key,
        )
    )
    return found.first()


async def complete(
    session: AsyncSession,
    organization_id: uuid.UUID,
    key: str,
    claimed_at: datetime,
    status: int,
    body: dict[str, Any],
) -> None:
    """Store the answer of the claim taken at `claimed_at`, unless another request took it over."""
    row = await session.get(IdempotencyRecord, (organization_id, key))
    if row is None or row.status != IN_PROGRESS or row.created_at != claimed_at:
        return  # taken over after its lease ran out; the newer holder's answer stands
    row.status = COMPLETED
    row.response_status = status
    row.response_body = body
    session.add(row)


async def release(
    session: AsyncSession, organization_id: uuid.UUID, key: str, claimed_at: datetime
) -> None:
    """Delete the claim taken at `claimed_at` if still in progress; a completed answer stays."""
    await session.exec(
        delete(IdempotencyRecord).where(
            col(IdempotencyRecord.organization_id) == organization_id,
            col(IdempotencyRecord.key) == key,
            col(IdempotencyRecord.status) == IN_PROGRESS,
            col(IdempotencyRecord.created_at) == claimed_at,
        )
    )


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Delete expired records; return how many went."""
    result = await session.exec(
        delete(IdempotencyRecord).where(col(IdempotencyRecord.expires_at) <= now)
    )
    return int(result.rowcount)
