"""Storing mentions, which both routes do, and the reconciler's pass.

A mention is stored once per (source, external_id) in its organization, whichever route
brought it; `mention.ingested.v1` tells analysis about the new ones. The routes call the
façades of their parts (`mentions.service`, `complaints.service`), which store through
`store_batch` here; the reconciler calls `reconcile`. A function that changes state returns
its `Outcome` (the messages to emit once the caller's unit of work commits); `store_batch`
is the step those façades share, so it returns what it stored and leaves announcing to
them. Takes the caller's session and never commits.
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import MentionIngested
from libs.contracts.outcome import Outcome
from libs.database.tables._types import utcnow
from libs.text import content_hash, normalize
from services.ingest import repository
from services.ingest.idempotency import repository as idempotency
from services.ingest.repository import AuthorRow, Key, MentionRow
from services.ingest.schemas import MentionIn

# A mention unanalysed this long after it was stored is announced again: long enough that a
# busy analysis queue is not flooded with copies of what it still holds.
GRACE = timedelta(minutes=5)
# Older mentions were either analysed or failed for good; a human looks at those.
HORIZON = timedelta(days=1)
REQUEUE_LIMIT = 5000
REQUEUE_BATCH = 1000


@dataclass
class StoredBatch:
    """Ids of each valid item (by index) and which of them are new."""

    ids: dict[int, uuid.UUID] = field(default_factory=dict)
    new: set[int] = field(default_factory=set)

    @property
    def new_ids(self) -> list[uuid.UUID]:
        """Return the ids of mentions created by this batch, in item order."""
        return [self.ids[index] for index in sorted(self.new)]


async def store_batch(
    session: AsyncSession, organization_id: uuid.UUID, items: dict[int, MentionIn]
) -> StoredBatch:
    """Store valid items; the same (source, external_id) twice is one mention."""
    stored = StoredBatch()
    if not items:
        return stored
    first_index: dict[Key, int] = {}
    for index, item in items.items():
        first_index.setdefault((item.source.value, item.external_id), index)

    now = utcnow()
    authors = await repository.upsert_authors(session, _author_rows(organization_id, items, now))
    # Rows go in key order, as authors do, so two batches with the same new keys lock the
    # unique index in the same order and cannot deadlock.
    rows = [
        _mention_row(organization_id, key, items[index], authors, now)
        for key, index in sorted(first_index.items())
    ]
    ids = await repository.insert_mentions(session, rows)
    new_keys = set(ids)
    missing = [key for key in first_index if key not in ids]
    if missing:
        ids.update(await repository.mention_ids(session, organization_id, missing))
    for index, item in items.items():
        key = (item.source.value, item.external_id)
        stored.ids[index] = ids[key]
        if key in new_keys and first_index[key] == index:
            stored.new.add(index)
    return stored


def announce(organization_id: uuid.UUID, mention_ids: list[uuid.UUID]) -> Outcome:
    """Emit one `mention.ingested.v1` for the new mentions, or nothing if none are new."""
    if not mention_ids:
        return Outcome()
    return Outcome.emit(MentionIngested(organization_id=organization_id, mention_ids=mention_ids))


async def reconcile(session: AsyncSession, now: datetime) -> Outcome:
    """Announce again the mentions never analysed, and forget expired idempotency records."""
    outcome = await requeue_unanalysed(session, now)
    await idempotency.purge_expired(session, now)
    return outcome


async def requeue_unanalysed(session: AsyncSession, now: datetime) -> Outcome:
    """Announce again the mentions stored between HORIZON and GRACE ago and never analysed.

    The outbox guarantees `mention.ingested.v1` reaches Redis, but a job can still be lost
    after that: Redis crashing within its fsync second, or a job failing past its retries.
    Analysis skips what it has already done, so a copy costs a query, not a duplicate.
    """
    found = await repository.unanalysed(session, now - HORIZON, now - GRACE, REQUEUE_LIMIT)
    by_org: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for organization_id, mention_id in found:
        by_org[organization_id].append(mention_id)
    return Outcome.emit(
        *(
            MentionIngested(organization_id=org, mention_ids=ids[start : start + REQUEUE_BATCH])
            for org, ids in by_org.items()
            for start in range(0, len(ids), REQUEUE_BATCH)
        )
    )


def _author_rows(
    organization_id: uuid.UUID, items: dict[int, MentionIn], now: datetime
) -> list[AuthorRow]:
    """Return one row per distinct author in key order; the latest sighting in the batch wins."""
    latest: dict[Key, MentionIn] = {}
    for item in items.values():
        latest[(item.source.value, item.author.handle)] = item
    return [
        AuthorRow(
            id=uuid.uuid4(),
            organization_id=organization_id,
            source=source,
            handle=handle,
            followers=item.author.followers,
            verified=item.author.verified,
            kind=item.author.kind.value,
            updated_at=now,
        )
        for (source, handle), item in sorted(latest.items())
    ]


def _mention_row(
    organization_id: uuid.UUID,
    key: Key,
    item: MentionIn,
    authors: dict[Key, uuid.UUID],
    now: datetime,
) -> MentionRow:
    """Return the row of a new mention, its text normalised and hashed for deduplication."""
    text_normalized = normalize(item.text)
    return MentionRow(
        id=uuid.uuid4(),
        organization_id=organization_id,
        source=key[0],
        external_id=key[1],
        text=item.text,
        text_normalized=text_normalized,
        content_hash=content_hash(text_normalized),
        url=str(item.url) if item.url else None,
        posted_at=item.posted_at,
        author_id=authors[(key[0], item.author.handle)],
        reposts=item.metrics.reposts,
        comments=item.metrics.comments,
        likes=item.metrics.likes,
        views=item.metrics.views,
        repost_of=item.repost_of,
        ingested_at=now,
    )
