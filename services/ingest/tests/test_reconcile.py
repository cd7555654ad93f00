"""Mentions stored but never analysed are announced again, and only those."""

import uuid
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy import update
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import ANALYSIS_QUEUE
from libs.database.engine import transaction
from libs.database.tables import Mention, MentionAnalysis
from libs.database.tables._types import utcnow
from services.ingest import service
from services.ingest.reconcile import requeue_unanalysed
from services.ingest.schemas import MentionIn
from services.ingest.tests.test_mentions_api import mention
from tests.builders import make_tenant


async def store(
    sessions: async_sessionmaker[AsyncSession], org_id: uuid.UUID, ids: list[str]
) -> list[uuid.UUID]:
    items = {i: MentionIn.model_validate(mention(external_id)) for i, external_id in enumerate(ids)}
    async with transaction(sessions) as session:
        stored = await service.store_batch(session, org_id, items)
    return stored.new_ids


async def test_only_old_unanalysed_mentions_are_announced_again(
    sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions)
    lost, analysed, fresh = await store(sessions, tenant.org.id, ["lost", "analysed", "fresh"])
    async with transaction(sessions) as session:
        await session.exec(
            update(Mention)
            .where(col(Mention.id).in_([lost, analysed]))
            .values(ingested_at=utcnow() - timedelta(minutes=10))
        )
        session.add(
            MentionAnalysis(
                mention_id=analysed,
                organization_id=tenant.org.id,
                sentiment="neutral",
                sentiment_score=0.0,
            )
        )

    assert await requeue_unanalysed(sessions, redis) == 1
    jobs = await redis.queued_jobs(queue_name=ANALYSIS_QUEUE)
    assert len(jobs) == 1
    assert jobs[0].args[0]["mention_ids"] == [str(lost)]
    assert fresh not in jobs[0].args[0]["mention_ids"]
