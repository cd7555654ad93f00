"""Builders for the rows analysis reads: authors, mentions and watchlists, written directly."""

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, Source
from libs.database.tables import Author, Mention, Watchlist
from libs.text import content_hash, normalize
from services.analysis.rules import keywords_query, parse


def make_author(
    session: AsyncSession,
    organization_id: uuid.UUID,
    handle: str,
    *,
    kind: AuthorKind = AuthorKind.USER,
    followers: int = 100,
    source: Source = Source.WEIBO,
) -> Author:
    """Stage an author."""
    author = Author(
        organization_id=organization_id,
        source=source.value,
        handle=handle,
        followers=followers,
        verified=kind is not AuthorKind.USER,
        kind=kind.value,
    )
    session.add(author)
    return author


def make_mention(
    session: AsyncSession,
    organization_id: uuid.UUID,
    text: str,
    posted_at: datetime,
    *,
    author: Author | None = None,
    views: int = 0,
    source: Source = Source.WEIBO,
    external_id: str | None = None,
    repost_of: str | None = None,
) -> Mention:
    """Stage a mention stored as ingest stores it (normalised text and content hash)."""
    normalized = normalize(text)
    mention = Mention(
        organization_id=organization_id,
        source=source.value,
        external_id=external_id or uuid.uuid4().hex,
        repost_of=repost_of,
        text=text,
        text_normalized=normalized,
        content_hash=content_hash(normalized),
        posted_at=posted_at,
        author_id=author.id if author else None,
        views=views,
    )
    session.add(mention)
    return mention


def make_watchlist(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    keywords: list[str],
    query: str | None = None,
) -> Watchlist:
    """Stage a watchlist with no tier yet; without a query, any keyword matches."""
    watchlist = Watchlist(
        organization_id=organization_id,
        name=name,
        keywords=keywords,
        query=parse(query).to_query() if query else keywords_query(keywords),
    )
    session.add(watchlist)
    return watchlist
