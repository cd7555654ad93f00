"""Builders for analysis tests: the rows analysis reads and writes, and ways to run a batch.

Row builders stage rows in the caller's session; `analyse` runs the service on one session
(rolled back by the `session` fixture), `deliver` runs the real worker on committed rows.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import AuthorKind, Source
from libs.contracts.messages import MentionIngested, Message
from libs.contracts.outcome import Outcome
from libs.database.engine import transaction
from libs.database.tables import Author, Mention, Organization, Watchlist
from libs.settings import Settings
from libs.text import content_hash, normalize
from services.analysis import service
from services.analysis.analyzer import Analyzer
from services.analysis.repository.rows import AnalysisRow
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


def analysis_row(
    mention: Mention,
    watchlist_ids: Sequence[uuid.UUID],
    sentiment: str = "neutral",
    sensitive_score: float = 0.0,
) -> AnalysisRow:
    """An analysis of `mention` as the pipeline stores it, with only what a count reads set:
    the watchlists it matched, its sentiment and sensitive score."""
    return AnalysisRow(
        mention_id=mention.id, organization_id=mention.organization_id,
        posted_at=mention.posted_at, sentiment=sentiment, sentiment_score=0.0,
        sentiment_probability=1.0, sentiment_evidence=[], tokens=[], hashtags=[],
        watchlist_ids=list(watchlist_ids), matched_keywords=[], sensitive_score=sensitive_score,
        sensitive_hits=[], crisis_type=None, crisis_confidence=0.0, crisis_evidence=[],
        story_id=None, parent_mention_id=None, influence=0.0, amplifier=False,
        analyzed_at=mention.posted_at,
    )  # fmt: skip


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
    servers: Servers,
    redis: ArqRedis,
    *messages: Message,
    job_ids: bool = True,
    clock: Clock | None = None,
) -> None:
    """Queue `messages` (a fresh job id each unless `job_ids`) and drain them with a worker.

    With `clock`, the worker reads the time from it instead of the wall clock.
    """
    for message in messages:
        await redis.enqueue_job(
            message.job_name(),
            message.model_dump(mode="json"),
            _job_id=str(message.message_id) if job_ids else uuid.uuid4().hex,
            _queue_name=message.QUEUE,
        )
    settings = Settings(database_url=servers.database_url, redis_url=servers.redis_url)
    worker = create_worker(settings, burst=True, handle_signals=False, clock=clock)
    await worker.main()
    await worker.close()


CRISIS_REPORT = "禾岚启护3段奶粉罐里发现黑色异物，宝宝喝了以后呕吐腹泻，家长已向市场监管局投诉维权"


async def stage_crisis(
    session: AsyncSession, org: uuid.UUID, now: datetime, spacing: timedelta = timedelta(seconds=2)
) -> tuple[Watchlist, list[Mention], list[Mention]]:
    """Stage a quiet history of 30 posts over six hours, then 40 complaints `spacing` apart.

    The last complaint is posted 10 seconds plus `spacing` before `now`; by default the
    40 fill 80 seconds.
    """
    watchlist = make_watchlist(session, org, "禾岚", ["禾岚"])
    media = make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_200_000)
    users = [make_author(session, org, f"用户{i}", followers=150) for i in range(40)]
    await session.flush()
    history = [
        make_mention(
            session, org, f"禾岚奶粉第{i}次回购，宝宝爱喝",
            now - timedelta(hours=6) + timedelta(minutes=9 * i), author=users[i],
        )
        for i in range(30)
    ]  # fmt: skip
    burst = [
        make_mention(
            session, org, f"{CRISIS_REPORT}（第{i}位家长）" if i else f"【曝光】{CRISIS_REPORT}",
            now - timedelta(seconds=10) - spacing * (40 - i), author=media if i == 0 else users[i],
            views=4_000,
        )
        for i in range(40)
    ]  # fmt: skip
    return watchlist, history, burst


async def store_crisis(
    sessions: async_sessionmaker[AsyncSession],
    org: uuid.UUID,
    now: datetime,
    spacing: timedelta = timedelta(seconds=2),
) -> tuple[Watchlist, list[uuid.UUID], list[uuid.UUID]]:
    """Store the crisis of `stage_crisis`; return the watchlist and the mention ids."""
    async with transaction(sessions) as session:
        watchlist, history, burst = await stage_crisis(session, org, now, spacing)
    return watchlist, [m.id for m in history], [m.id for m in burst]
