"""The mentions a batch analyses: stored, not yet analysed, with their authors."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class PendingMention:
    """A stored mention that has no analysis yet, with its author."""

    id: uuid.UUID
    text_normalized: str
    source: str
    posted_at: datetime
    repost_of: str | None
    reposts: int
    comments: int
    likes: int
    views: int
    author_id: uuid.UUID | None
    handle: str | None
    followers: int
    verified: bool
    kind: str


async def pending_mentions(
    session: AsyncSession, organization_id: uuid.UUID, mention_ids: Sequence[uuid.UUID]
) -> list[PendingMention]:
    """Load the organization's mentions among `mention_ids` that were never analysed."""
    result = await session.exec(
        text(
            """
            SELECT m.id, m.text_normalized, m.source, m.posted_at, m.repost_of, m.reposts,
                   m.comments, m.likes, m.views, a.id AS author_id, a.handle,
                   coalesce(a.followers, 0) AS followers, coalesce(a.verified, false) AS verified,
                   coalesce(a.kind, 'user') AS kind
            FROM mention m
            LEFT JOIN author a ON a.id = m.author_id
            WHERE m.organization_id = :organization_id
              AND m.id = ANY(CAST(:ids AS uuid[]))
              AND NOT EXISTS (SELECT 1 FROM mention_analysis x WHERE x.mention_id = m.id)
            ORDER BY m.posted_at, m.id
            """
        ),  # type: ignore[call-overload]
        params={"organization_id": organization_id, "ids": list(mention_ids)},
    )
    return [PendingMention(*row) for row in result]
