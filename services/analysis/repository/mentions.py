"""Stored mentions with their authors: the ones a batch analyses, or a span a backtest replays."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.text import normalize


@dataclass(frozen=True)
class AuthoredMention:
    """A stored mention with what analysis reads about its author (an ordinary user if none)."""

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
    ingested_at: datetime
    drill_id: uuid.UUID | None = None


def _authored(mention_id: uuid.UUID, text: str, *rest: Any) -> AuthoredMention:
    """The row as analysis reads it: the text normalised here, as ingest hashed it."""
    return AuthoredMention(mention_id, normalize(text), *rest)


_AUTHORED = """
    SELECT m.id, m.text, m.source, m.posted_at, m.repost_of, m.reposts,
           m.comments, m.likes, m.views, a.id AS author_id, a.handle,
           coalesce(a.followers, 0) AS followers, coalesce(a.verified, false) AS verified,
           coalesce(a.kind, 'user') AS kind, m.ingested_at, m.drill_id
    FROM mention m
    LEFT JOIN author a ON a.id = m.author_id
    WHERE m.organization_id = :organization_id
"""


async def pending_mentions(
    session: AsyncSession, organization_id: uuid.UUID, mention_ids: Sequence[uuid.UUID]
) -> list[AuthoredMention]:
    """Load the organization's mentions among `mention_ids` that were never analysed."""
    result = await session.exec(
        text(
            _AUTHORED
            + """
              AND m.id = ANY(CAST(:ids AS uuid[]))
              AND NOT EXISTS (SELECT 1 FROM mention_analysis x WHERE x.mention_id = m.id)
            ORDER BY m.posted_at, m.id
            """
        ),  # type: ignore[call-overload]
        params={"organization_id": organization_id, "ids": list(mention_ids)},
    )
    return [_authored(*row) for row in result]


_PAGE = (
    _AUTHORED
    + """
      AND m.posted_at >= :start AND m.posted_at <= :until {after}
    ORDER BY m.posted_at, m.id
    LIMIT :limit
    """
)
_FIRST_PAGE = text(_PAGE.replace("{after}", ""))
_NEXT_PAGE = text(_PAGE.replace("{after}", "AND (m.posted_at, m.id) > (:after_at, :after_id)"))


async def mentions_between(
    session: AsyncSession,
    organization_id: uuid.UUID,
    start: datetime,
    until: datetime,
    *,
    after: AuthoredMention | None,
    limit: int,
) -> list[AuthoredMention]:
    """Load the next `limit` mentions posted in [start, until] after `after`, in posting order."""
    params = {"organization_id": organization_id, "start": start, "until": until, "limit": limit}
    if after is not None:
        params |= {"after_at": after.posted_at, "after_id": after.id}
    result = await session.exec(
        _FIRST_PAGE if after is None else _NEXT_PAGE,  # type: ignore[call-overload]
        params=params,
    )
    return [_authored(*row) for row in result]
