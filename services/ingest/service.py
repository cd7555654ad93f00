"""Storing a batch of mentions: authors upserted, mentions inserted once, duplicates found.

Takes a session and never commits: the request handler commits, then publishes.
"""

import uuid
from dataclasses import dataclass, field

from sqlalchemy import tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Author, Mention, MentionAnalysis
from libs.database.tables._types import utcnow
from libs.text import content_hash, normalize
from services.ingest.schemas import MentionIn

Key = tuple[str, str]


@dataclass
class StoreOutcome:
    """Ids of each valid item (by index) and which of them are new."""

    ids: dict[int, uuid.UUID] = field(default_factory=dict)
    new: set[int] = field(default_factory=set)

    @property
    def new_ids(self) -> list[uuid.UUID]:
        """Return the ids of mentions created by this batch, in item order."""
        return [self.ids[index] for index in sorted(self.new)]


async def store_batch(
    session: AsyncSession, organization_id: uuid.UUID, items: dict[int, MentionIn]
) -> StoreOutcome:
    """Store valid items; the same (source, external_id) twice is one mention."""
    outcome = StoreOutcome()
    if not items:
        return outcome
    first_index: dict[Key, int] = {}
    for index, item in items.items():
        first_index.setdefault((item.source.value, item.external_id), index)

    authors = await _upsert_authors(session, organization_id, list(items.values()))
    now = utcnow()
    rows = []
    # Rows go in key order, as authors do, so two batches with the same new keys lock the
    # unique index in the same order and cannot deadlock.
    for key, index in sorted(first_index.items()):
        item = items[index]
        text_normalized = normalize(item.text)
        rows.append(
            {
                "id": uuid.uuid4(),
                "organization_id": organization_id,
                "source": key[0],
                "external_id": key[1],
                "text": item.text,
                "text_normalized": text_normalized,
                "content_hash": content_hash(text_normalized),
                "url": str(item.url) if item.url else None,
                "posted_at": item.posted_at,
                "author_id": authors[(key[0], item.author.handle)],
                "reposts": item.metrics.reposts,
                "comments": item.metrics.comments,
                "likes": item.metrics.likes,
                "views": item.metrics.views,
                "repost_of": item.repost_of,
                "ingested_at": now,
            }
        )
    # Parameters go beside the statement (executemany), not inside it: SQLAlchemy then
    # caches one compiled statement and batches the rows itself, instead of compiling a
    # thousand-row VALUES clause on every request.
    connection = await session.connection()
    inserted = await connection.execute(
        insert(Mention)
        .on_conflict_do_nothing(index_elements=["organization_id", "source", "external_id"])
        .returning(col(Mention.source), col(Mention.external_id), col(Mention.id)),
        rows,
    )
    stored: dict[Key, uuid.UUID] = {(s, e): i for s, e, i in inserted.all()}
    new_keys = set(stored)
    missing = [key for key in first_index if key not in stored]
    if missing:
        existing = await session.exec(
            select(Mention.source, Mention.external_id, Mention.id).where(
                col(Mention.organization_id) == organization_id,
                tuple_(col(Mention.source), col(Mention.external_id)).in_(missing),
            )
        )
        stored.update({(s, e): i for s, e, i in existing.all()})
    for index, item in items.items():
        key = (item.source.value, item.external_id)
        outcome.ids[index] = stored[key]
        if key in new_keys and first_index[key] == index:
            outcome.new.add(index)
    return outcome


async def _upsert_authors(
    session: AsyncSession, organization_id: uuid.UUID, items: list[MentionIn]
) -> dict[Key, uuid.UUID]:
    """Insert or refresh each distinct author; the latest sighting in the batch wins."""
    latest: dict[Key, MentionIn] = {}
    for item in items:
        latest[(item.source.value, item.author.handle)] = item
    now = utcnow()
    rows = [
        {
            "id": uuid.uuid4(),
            "organization_id": organization_id,
            "source": source,
            "handle": handle,
            "followers": item.author.followers,
            "verified": item.author.verified,
            "kind": item.author.kind.value,
            "updated_at": now,
        }
        for (source, handle), item in sorted(latest.items())
    ]
    statement = insert(Author)
    upsert = statement.on_conflict_do_update(
        index_elements=["organization_id", "source", "handle"],
        set_={
            "followers": statement.excluded.followers,
            "verified": statement.excluded.verified,
            "kind": statement.excluded.kind,
            "updated_at": statement.excluded.updated_at,
        },
    ).returning(col(Author.source), col(Author.handle), col(Author.id))
    connection = await session.connection()
    result = await connection.execute(upsert, rows)
    return {(s, h): i for s, h, i in result.all()}


async def get_mention(
    session: AsyncSession, organization_id: uuid.UUID, mention_id: uuid.UUID
) -> tuple[Mention, Author | None, MentionAnalysis | None] | None:
    """Return a mention of this organization with its author and analysis, or None."""
    result = await session.exec(
        select(Mention, Author, MentionAnalysis)
        .outerjoin(Author, col(Author.id) == col(Mention.author_id))
        .outerjoin(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(col(Mention.id) == mention_id, col(Mention.organization_id) == organization_id)
    )
    row = result.first()
    if row is None:
        return None
    mention, author, analysis = row
    return mention, author, analysis
