"""The reconciler's pass: mentions announced again, expired keys forgotten; rolled back."""

import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import IdempotencyRecord
from libs.database.tables._types import utcnow
from services.ingest import service
from services.ingest.idempotency.service import TTL
from services.ingest.tests.builders import announced, make_analysis, store_mentions, stored_at


async def test_unanalysed_mentions_are_announced_again_after_a_minute_however_old(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    lost, analysed, fresh, old = await store_mentions(
        session, organization, "lost", "analysed", "fresh", "old"
    )
    # Stored in a future far from the rows other tests leave behind, so only ours qualify.
    now = utcnow() + timedelta(days=3650)
    for mention_id, age in (
        (lost, timedelta(seconds=90)),
        (analysed, timedelta(minutes=10)),
        (fresh, timedelta(seconds=30)),
        (old, timedelta(days=2)),
    ):
        await stored_at(session, mention_id, now - age)
    make_analysis(session, organization, analysed)
    await session.flush()

    outcome = await service.requeue_unanalysed(session, now)
    # Newest first; one stored two days ago is not cut off, it gets its try like the rest.
    # (Rows other tests committed may be announced too; only this organization's count.)
    ours = [(org, ids) for org, ids in announced(outcome) if org == organization]
    assert ours == [(organization, [lost, old])]


async def test_a_reconcile_pass_forgets_expired_idempotency_records(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    now = utcnow()
    for key, expires_at in (("expired", now - timedelta(seconds=1)), ("live", now + TTL)):
        session.add(
            IdempotencyRecord(
                organization_id=organization,
                key=key,
                route="POST /v1/mentions",
                request_hash="h",
                created_at=expires_at - TTL,
                expires_at=expires_at,
            )
        )
    await session.flush()

    await service.reconcile(session, now)
    keys = await session.exec(
        select(IdempotencyRecord.key).where(  # type: ignore[call-overload]
            col(IdempotencyRecord.organization_id) == organization
        )
    )
    assert [row[0] for row in keys] == ["live"]
