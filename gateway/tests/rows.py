"""Plain builders for the rows the gateway reads; each adds and flushes, never commits.

The gateway never writes these tables; tests stand in for the owning services.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, IncidentStatus, Sentiment, Source, TaskStatus, Tier
from libs.database.tables import (
    Author,
    Incident,
    Mention,
    MentionAnalysis,
    ResponseTask,
    RiskSignal,
    SensitiveTerm,
    Story,
    TimelineEvent,
    Watchlist,
    WatchlistHit,
)

T0 = datetime(2025, 3, 15, 8, 0, tzinfo=UTC)


async def author(
    session: AsyncSession, org: uuid.UUID, handle: str = "消费者小王", **fields: Any
) -> Author:
    """Store an author."""
    row = Author(
        organization_id=org,
        source=fields.pop("source", Source.WEIBO.value),
        handle=handle,
        followers=fields.pop("followers", 1200),
        verified=fields.pop("verified", False),
        kind=fields.pop("kind", AuthorKind.USER.value),
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


async def mention(
    session: AsyncSession,
    org: uuid.UUID,
    *,
    posted_at: datetime,
    text: str = "这款奶粉喝了以后宝宝拉肚子，客服一直不回复",
    source: Source = Source.WEIBO,
    author_id: uuid.UUID | None = None,
    **fields: Any,
) -> Mention:
    """Store a mention posted at `posted_at`."""
    row = Mention(
        organization_id=org,
        source=source.value,
        external_id=fields.pop("external_id", uuid.uuid4().hex),
        text=text,
        text_normalized=text,
        content_hash=uuid.uuid4().hex,
        posted_at=posted_at,
        author_id=author_id,
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


async def analysis(
    session: AsyncSession,
    row: Mention,
    sentiment: Sentiment,
    watchlists: list[Watchlist] | None = None,
    **fields: Any,
) -> MentionAnalysis:
    """Store what analysis concluded about `row`."""
    result = MentionAnalysis(
        mention_id=row.id,
        organization_id=row.organization_id,
        sentiment=sentiment.value,
        sentiment_score=fields.pop("sentiment_score", -0.8),
        tokens=fields.pop("tokens", ["奶粉", "拉肚子", "客服"]),
        watchlist_ids=[w.id for w in watchlists or []],
        matched_keywords=fields.pop("matched_keywords", ["奶粉"]),
        **fields,
    )
    session.add(result)
    await session.flush()
    return result


async def watchlist(
    session: AsyncSession,
    org: uuid.UUID,
    name: str = "奶粉质量",
    keywords: list[str] | None = None,
    **fields: Any,
) -> Watchlist:
    """Store a watchlist."""
    row = Watchlist(
        organization_id=org, name=name, keywords=keywords or ["奶粉", "拉肚子"], **fields
    )
    session.add(row)
    await session.flush()
    return row


async def signal(
    session: AsyncSession, watched: Watchlist, tier: Tier | str = Tier.ORANGE, **fields: Any
) -> RiskSignal:
    """Store a risk signal for `watched`; `tier` may be the stored "none" (below blue)."""
    row = RiskSignal(
        organization_id=watched.organization_id,
        watchlist_id=watched.id,
        tier=tier.value if isinstance(tier, Tier) else tier,
        score=71.5,
        components={"spike_ratio": 6.2, "negative_share": 0.83},
        reasons=["负面声量为基线的 6.2 倍", "媒体大号参与转发"],
        window_start=T0 - timedelta(hours=1),
        window_end=T0,
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


async def story(
    session: AsyncSession,
    first: Mention,
    title: str = "禾岚奶粉宝宝腹泻",
    *,
    last_posted_at: datetime | None = None,
    mention_count: int = 1,
) -> Story:
    """Store a story started by `first`."""
    row = Story(
        organization_id=first.organization_id,
        title=title,
        first_mention_id=first.id,
        first_author_id=first.author_id,
        mention_count=mention_count,
        started_at=first.posted_at,
        last_posted_at=last_posted_at or first.posted_at,
    )
    session.add(row)
    await session.flush()
    return row


async def watchlist_hit(
    session: AsyncSession, watched: Watchlist, row: Mention, in_story: Story | None
) -> WatchlistHit:
    """Store that `watched` matched `row`, as the risk model reads it."""
    hit = WatchlistHit(
        watchlist_id=watched.id,
        posted_at=row.posted_at,
        mention_id=row.id,
        organization_id=row.organization_id,
        author_id=row.author_id,
        sentiment=Sentiment.NEGATIVE.value,
        story_id=in_story.id if in_story else None,
    )
    session.add(hit)
    await session.flush()
    return hit


async def sensitive_term(
    session: AsyncSession, org: uuid.UUID, term: str, category: str, weight: float
) -> SensitiveTerm:
    """Store an organization's change to the sensitive-term lexicon."""
    row = SensitiveTerm(organization_id=org, term=term, category=category, weight=weight)
    session.add(row)
    await session.flush()
    return row


async def incident(
    session: AsyncSession,
    watched: Watchlist,
    *,
    detected_at: datetime,
    status: IncidentStatus = IncidentStatus.DETECTED,
    tier: Tier = Tier.ORANGE,
    title: str = "奶粉质量投诉集中爆发",
    last_signal: RiskSignal | None = None,
) -> Incident:
    """Store an incident on `watched`."""
    row = Incident(
        organization_id=watched.organization_id,
        watchlist_id=watched.id,
        title=title,
        tier=tier.value,
        status=status.value,
        detected_at=detected_at,
        last_signal_id=last_signal.id if last_signal else None,
    )
    session.add(row)
    await session.flush()
    return row


async def task(
    session: AsyncSession,
    opened: Incident,
    kind: str,
    title: str,
    position: int,
    due_in: timedelta,
    status: TaskStatus = TaskStatus.OPEN,
) -> ResponseTask:
    """Store a response task due `due_in` after the incident was detected."""
    row = ResponseTask(
        organization_id=opened.organization_id,
        incident_id=opened.id,
        kind=kind,
        title=title,
        position=position,
        due_at=opened.detected_at + due_in,
        status=status.value,
    )
    session.add(row)
    await session.flush()
    return row


async def event(
    session: AsyncSession, opened: Incident, kind: str, message: str, at: datetime, **data: Any
) -> TimelineEvent:
    """Store a timeline event."""
    row = TimelineEvent(
        organization_id=opened.organization_id,
        incident_id=opened.id,
        kind=kind,
        message=message,
        occurred_at=at,
        data=data,
    )
    session.add(row)
    await session.flush()
    return row
