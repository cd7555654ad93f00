"""The SQL of mentions and their authors, whichever route stored them; never commits."""

import uuid
from datetime import datetime
from typing import TypedDict

from sqlalchemy import tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Author, Mention, MentionAnalysis
from libs.database.upsert import incoming

Key = tuple[str, str]
"""(source, external_id) of a mention, or (source, handle) of an author."""


class AuthorRow(TypedDict):
    """An `author` row to insert or refresh."""

    id: uuid.UUID
    organization_id: uuid.UUID
    source: str
    handle: str
    followers: int
    verified: bool
    kind: str
    updated_at: datetime


class MentionRow(TypedDict):
    """A `mention` row to insert unless its (source, external_id) is stored already."""

    id: uuid.UUID
    organization_id: uuid.UUID
    source: str
    external_id: str
    text: str
    text_normalized: str
    content_hash: str
    url: str | None
    posted_at: datetime
    author_id: uuid.UUID
    reposts: int
    comments: int
    likes: int
    views: int
    repost_of: str | None
    ingested_at: datetime


async def upsert_authors(session: AsyncSession, rows: list[AuthorRow]) -> dict[Key, uuid.UUID]:
    """Insert each author or refresh its counts and kind; return the ids by (source, handle)."""
    statement = insert(Author)
    upsert = statement.on_conflict_do_update(
        index_elements=["organization_id", "source", "handle"],
        set_=incoming(statement, "followers", "verified", "kind", "updated_at"),
    ).returning(col(Author.source), col(Author.handle), col(Author.id))
    connection = await session.connection()
    result = await connection.execute(upsert, rows)
    return {(s, h): i for s, h, i in result.all()}


async def insert_mentions(session: AsyncSession, rows: list[MentionRow]) -> dict[Key, uuid.UUID]:
    """Insert the mentions not stored yet; return the ids of those inserted now."""
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
    return {(s, e): i for s, e, i in inserted.all()}


async def mention_ids(
    session: AsyncSession, organization_id: uuid.UUID, keys: list[Key]
) -> dict[Key, uuid.UUID]:
    """Return the ids of this organization's mentions with these (source, external_id)."""
    existing = await session.exec(
        select(Mention.source, Mention.external_id, Mention.id).where(
            col(Mention.organization_id) == organization_id,
            tuple_(col(Mention.source), col(Mention.external_id)).in_(keys),
        )
    )
    return {(s, e): i for s, e, i in existing.all()}


async def mention_with_analysis(
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


async def unanalysed(
    session: AsyncSession, after: datetime, before: datetime, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID]]:
    """Return (organization, mention) ids stored between `after` and `before`, unanalysed."""
    result = await session.exec(
        select(Mention.organization_id, Mention.id)
        .outerjoin(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(
            col(MentionAnalysis.mention_id).is_(None),
            col(Mention.ingested_at) < before,
            col(Mention.ingested_at) > after,
        )
        .order_by(col(Mention.ingested_at))
        .limit(limit)
    )
    return [(organization_id, mention_id) for organization_id, mention_id in result.all()]
