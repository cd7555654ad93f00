"""Builders for analysis tests: the rows analysis reads and writes, and ways to run a batch.

Row builders stage rows in the caller's session; `analyse` runs the service on one session
(rolled back by the `session` fixture), `deliver` runs the real worker on committed rows.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from arq.connections import ArqRedis
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, Source
from libs.contracts.messages import MentionIngested, Message
from libs.contracts.outcome import Outcome
from libs.database.tables import Author, Mention, Organization, Watchlist
from libs.settings import Settings
from libs.text import content_hash, normalize
from services.analysis import service
from services.analysis.analyzer import Analyzer
from services.analysis.rules import keywords_query, parse
from services.analysis.worker import create_worker
from tests.fixtures.servers import Servers


async def make_organization(session: AsyncSession) -> uuid.UUID:
    """Store an organization of the test's own, so it reads only the rows it built."""
    slug = f"org-{uuid.uuid4().hex[:12]}"
    organization = Organization(slug=slug, name=slug)
    session.add(organization)
    await session.flush()
    return organization.id


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


async def analyse(
    session: AsyncSession,
    analyzer: Analyzer,
    organization_id: uuid.UUID,
    mentions: Sequence[Mention],
    now: datetime,
) -> Outcome:
    """Flush what the test staged and analyse `mentions` as one batch, as the worker would."""
    await session.flush()
    message = MentionIngested(organization_id=organization_id, mention_ids=[m.id for m in mentions])
    return await service.analyze_mentions(session, analyzer, message, now=now)


async def deliver(
    servers: Servers, redis: ArqRedis, *messages: Message, job_ids: bool = True
) -> None:
    """Queue `messages` (a fresh job id each unless `job_ids`) and drain them with a worker."""
    for message in messages:
        await redis.enqueue_job(
            message.job_name(),
            message.model_dump(mode="json"),
            _job_id=str(message.message_id) if job_ids else uuid.uuid4().hex,
            _queue_name=message.QUEUE,
        )
    settings = Settings(database_url=servers.database_url, redis_url=servers.redis_url)
    worker = create_worker(settings, burst=True, handle_signals=False)
    await worker.main()
    await worker.close()
