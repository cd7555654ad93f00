"""Re-queue stored mentions that were never analysed.

The outbox guarantees `mention.ingested.v1` reaches Redis, but a job can still be lost
after that: Redis crashing within its fsync second, or a job failing past its retries. A
mention without analysis some minutes after it was stored is announced again; analysis skips
what it has already done, so a copy costs a query, not a duplicate.
"""

import uuid
from collections import defaultdict
from datetime import timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import MentionIngested
from libs.database.engine import transaction
from libs.database.tables import Mention, MentionAnalysis, OutboxMessage
from libs.database.tables._types import utcnow
from libs.messaging import outbox

PRODUCER = "ingest"
# Long enough that a busy analysis queue is not flooded with copies of what it still holds.
GRACE = timedelta(minutes=5)
# Older mentions were either analysed or failed for good; a human looks at those.
HORIZON = timedelta(days=1)
LIMIT = 5000
BATCH = 1000


async def unanalysed(session: AsyncSession) -> list[MentionIngested]:
    """Return messages announcing mentions stored between HORIZON and GRACE ago, unanalysed."""
    now = utcnow()
    result = await session.exec(
        select(Mention.organization_id, Mention.id)
        .outerjoin(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(
            col(MentionAnalysis.mention_id).is_(None),
            col(Mention.ingested_at) < now - GRACE,
            col(Mention.ingested_at) > now - HORIZON,
        )
        .order_by(col(Mention.ingested_at))
        .limit(LIMIT)
    )
    by_org: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for organization_id, mention_id in result.all():
        by_org[organization_id].append(mention_id)
    return [
        MentionIngested(organization_id=org, mention_ids=ids[start : start + BATCH])
        for org, ids in by_org.items()
        for start in range(0, len(ids), BATCH)
    ]


async def requeue_unanalysed(sessions: async_sessionmaker[AsyncSession], redis: ArqRedis) -> int:
    """Announce unanalysed mentions again through the outbox; return how many mentions."""
    staged: list[OutboxMessage] = []
    async with transaction(sessions) as session:
        for message in await unanalysed(session):
            staged.append(outbox.add(session, PRODUCER, message))
    await outbox.flush(sessions, redis, staged)
    return sum(len(row.payload["mention_ids"]) for row in staged)
