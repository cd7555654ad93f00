"""Finding the mentions to announce again, on a rolled-back session."""

import uuid
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables._types import utcnow
from services.ingest import service
from services.ingest.tests.builders import announced, make_analysis, store_mentions, stored_at


async def test_only_old_unanalysed_mentions_are_announced_again(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    lost, analysed, fresh, forgotten = await store_mentions(
        session, organization, "lost", "analysed", "fresh", "forgotten"
    )
    # Stored in a future far from the rows other tests leave behind, so only ours qualify.
    now = utcnow() + timedelta(days=3650)
    for mention_id, age in (
        (lost, timedelta(minutes=10)),
        (analysed, timedelta(minutes=10)),
        (fresh, timedelta(minutes=1)),
        (forgotten, timedelta(days=2)),
    ):
        await stored_at(session, mention_id, now - age)
    make_analysis(session, organization, analysed)
    await session.flush()

    outcome = await service.requeue_unanalysed(session, now)
    assert announced(outcome) == [(organization, [lost])]
