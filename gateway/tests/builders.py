"""Plain builders for the rows the gateway reads; each stores its row and flushes, never commits.

The gateway writes none of these tables: the analysis, incidents and notify services own
them, and tests stand in for those services by storing rows directly.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import (
    AuthorKind,
    Channel,
    ContactKind,
    EndpointKind,
    EventType,
    FollowUpKind,
    IncidentStatus,
    ReviewDecision,
    ReviewStage,
    Sentiment,
    Source,
    StatementStatus,
    TaskStatus,
    TeamRole,
    Tier,
)
from libs.database import rollups, tables
from libs.privacy import mask_contact, mask_name

Row = TypeVar("Row", bound=SQLModel)

T0 = datetime(2025, 3, 15, 8, 0, tzinfo=UTC)
# What a stored secret looks like to the gateway: bytes it must never return or even load.
SEALED = b"sealed-secret-bytes"


def of(opened: tables.Incident) -> dict[str, Any]:
    """Return the columns every row of an incident's response carries: its tenant and incident."""
    return {"organization_id": opened.organization_id, "incident_id": opened.id}


async def stored(session: AsyncSession, row: Row, *after: SQLModel) -> Row:
    """Add `row`, then the rows `after` it (which may point at it), flushing each; return `row`."""
    for added in (row, *after):
        session.add(added)
        await session.flush()
    return row


async def author(
    session: AsyncSession, org: uuid.UUID, handle: str = "消费者小王", **fields: Any
) -> tables.Author:
    """Store an author."""
    fields.setdefault("source", Source.WEIBO.value)
    fields.setdefault("followers", 1200)
    fields.setdefault("verified", False)
    fields.setdefault("kind", AuthorKind.USER.value)
    return await stored(session, tables.Author(organization_id=org, handle=handle, **fields))


async def media_outlet(
    session: AsyncSession, org: uuid.UUID, handle: str = "财经媒体", followers: int = 2_300_000
) -> tables.Author:
    """Store a verified media account (媒体), the loudest kind of author."""
    return await author(
        session, org, handle, followers=followers, verified=True, kind=AuthorKind.MEDIA.value
    )


async def mention(
    session: AsyncSession,
    org: uuid.UUID,
    *,
    posted_at: datetime,
    text: str = "这款奶粉喝了以后宝宝拉肚子，客服一直不回复",
    source: Source = Source.WEIBO,
    author_id: uuid.UUID | None = None,
    **fields: Any,
) -> tables.Mention:
    """Store a mention posted at `posted_at`."""
    fields.setdefault("external_id", uuid.uuid4().hex)
    posted = tables.Mention(
        organization_id=org,
        source=source.value,
        text=text,
        content_hash=uuid.uuid4().hex,
        posted_at=posted_at,
        author_id=author_id,
        **fields,
    )
    return await stored(session, posted)


async def analysis(
    session: AsyncSession,
    row: tables.Mention,
    sentiment: Sentiment,
    watchlists: list[tables.Watchlist] | None = None,
    **fields: Any,
) -> tables.MentionAnalysis:
    """Store what analysis concluded about `row` and count it in the rollups, as analysis does."""
    fields.setdefault("sentiment_score", -0.8)
    fields.setdefault("tokens", ["奶粉", "拉肚子", "客服"])
    fields.setdefault("matched_keywords", ["奶粉"])
    fields.setdefault("posted_at", row.posted_at)
    concluded = tables.MentionAnalysis(
        mention_id=row.id,
        organization_id=row.organization_id,
        sentiment=sentiment.value,
        watchlist_ids=[w.id for w in watchlists or []],
        **fields,
    )
    await stored(session, concluded)
    for watched in watchlists or []:  # analysis stores a hit per watchlist it matched
        await session.merge(
            tables.WatchlistHit(
                watchlist_id=watched.id,
                posted_at=row.posted_at,
                mention_id=row.id,
                organization_id=row.organization_id,
                author_id=row.author_id,
                sentiment=sentiment.value,
            )
        )
    await session.flush()
    await rollups.count_analysed(session, [row.id])
    return concluded


async def watchlist(
    session: AsyncSession,
    org: uuid.UUID,
    name: str = "奶粉质量",
    keywords: list[str] | None = None,
    **fields: Any,
) -> tables.Watchlist:
    """Store a watchlist."""
    keywords = keywords or ["奶粉", "拉肚子"]
    return await stored(
        session, tables.Watchlist(organization_id=org, name=name, keywords=keywords, **fields)
    )


async def signal(
    session: AsyncSession, watched: tables.Watchlist, tier: Tier | str = Tier.ORANGE, **fields: Any
) -> tables.RiskSignal:
    """Store a risk signal for `watched`; `tier` may be the stored "none" (below blue)."""
    decided = tables.RiskSignal(
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
    return await stored(session, decided)


async def story(
    session: AsyncSession,
    first: tables.Mention,
    title: str = "禾岚奶粉宝宝腹泻",
    *,
    last_posted_at: datetime | None = None,
    mention_count: int = 1,
) -> tables.Story:
    """Store a story started by `first`."""
    started = tables.Story(
        organization_id=first.organization_id,
        title=title,
        first_mention_id=first.id,
        first_author_id=first.author_id,
        mention_count=mention_count,
        started_at=first.posted_at,
        last_posted_at=last_posted_at or first.posted_at,
    )
    return await stored(session, started)


async def watchlist_hit(
    session: AsyncSession,
    watched: tables.Watchlist,
    row: tables.Mention,
    in_story: tables.Story | None,
) -> tables.WatchlistHit:
    """Store that `watched` matched `row`, as the risk model reads it."""
    hit = tables.WatchlistHit(
        watchlist_id=watched.id,
        posted_at=row.posted_at,
        mention_id=row.id,
        organization_id=row.organization_id,
        author_id=row.author_id,
        sentiment=Sentiment.NEGATIVE.value,
        story_id=in_story.id if in_story else None,
    )
    merged = await session.merge(hit)  # the mention's analysis may have stored it already
    await session.flush()
    return merged


async def sensitive_term(
    session: AsyncSession, org: uuid.UUID, term: str, category: str, weight: float
) -> tables.SensitiveTerm:
    """Store an organization's change to the sensitive-term lexicon."""
    changed = tables.SensitiveTerm(organization_id=org, term=term, category=category, weight=weight)
    return await stored(session, changed)


async def incident(
    session: AsyncSession,
    watched: tables.Watchlist,
    *,
    detected_at: datetime,
    status: IncidentStatus = IncidentStatus.DETECTED,
    tier: Tier = Tier.ORANGE,
    title: str = "奶粉质量投诉集中爆发",
    last_signal: tables.RiskSignal | None = None,
) -> tables.Incident:
    """Store an incident on `watched`."""
    opened = tables.Incident(
        organization_id=watched.organization_id,
        watchlist_id=watched.id,
        title=title,
        tier=tier.value,
        status=status.value,
        detected_at=detected_at,
        last_signal_id=last_signal.id if last_signal else None,
    )
    return await stored(session, opened)


async def watched_incident(
    session: AsyncSession, org: uuid.UUID, *, detected_at: datetime
) -> tables.Incident:
    """Store an incident on a new watchlist of `org`, for tests that need any incident."""
    return await incident(session, await watchlist(session, org), detected_at=detected_at)


async def task(
    session: AsyncSession,
    opened: tables.Incident,
    kind: str,
    title: str,
    position: int,
    due_in: timedelta,
    status: TaskStatus = TaskStatus.OPEN,
) -> tables.ResponseTask:
    """Store a response task due `due_in` after the incident was detected."""
    added = tables.ResponseTask(
        **of(opened),
        kind=kind,
        title=title,
        position=position,
        due_at=opened.detected_at + due_in,
        status=status.value,
    )
    return await stored(session, added)


async def event(
    session: AsyncSession,
    opened: tables.Incident,
    kind: str,
    message: str,
    at: datetime,
    **data: Any,
) -> tables.TimelineEvent:
    """Store a timeline event."""
    recorded = tables.TimelineEvent(
        **of(opened),
        kind=kind,
        message=message,
        occurred_at=at,
        data=data,
    )
    return await stored(session, recorded)


async def member(
    session: AsyncSession, opened: tables.Incident, role: TeamRole, person: str, at: datetime = T0
) -> tables.IncidentMember:
    """Put `person` in `role` on the incident's team."""
    assigned = tables.IncidentMember(
        **of(opened),
        role=role.value,
        person=person,
        assigned_at=at,
    )
    return await stored(session, assigned)


async def statement(
    session: AsyncSession,
    opened: tables.Incident,
    channel: Channel = Channel.WEIBO,
    body: str = "关于禾岚奶粉的情况说明：已下架涉事批次并送检。",
    status: StatementStatus = StatementStatus.DRAFT,
    **fields: Any,
) -> tables.Statement:
    """Store a statement for one channel."""
    fields.setdefault("created_by", "api_key:drafter")
    drafted = tables.Statement(
        **of(opened),
        channel=channel.value,
        body=body,
        status=status.value,
        **fields,
    )
    return await stored(session, drafted)


async def statement_review(
    session: AsyncSession,
    reviewed: tables.Statement,
    stage: ReviewStage,
    decision: ReviewDecision = ReviewDecision.APPROVE,
    at: datetime = T0,
    note: str | None = None,
) -> tables.StatementReview:
    """Record one review decision on a statement."""
    decided = tables.StatementReview(
        organization_id=reviewed.organization_id,
        statement_id=reviewed.id,
        stage=stage.value,
        decision=decision.value,
        reviewer="api_key:reviewer",
        note=note,
        reviewed_at=at,
    )
    return await stored(session, decided)


async def key_fact(
    session: AsyncSession, opened: tables.Incident, label: str, value: str
) -> tables.KeyFact:
    """Store a key fact of the incident."""
    return await stored(session, tables.KeyFact(**of(opened), label=label, value=value))


async def affected_user(
    session: AsyncSession,
    opened: tables.Incident,
    name: str,
    contact_kind: ContactKind,
    contact: str,
    due_in: timedelta = timedelta(days=1),
) -> tables.AffectedUser:
    """Store an affected user as the incidents service does (masked, contact sealed)."""
    user = tables.AffectedUser(
        **of(opened),
        name_masked=mask_name(name),
        contact_kind=contact_kind.value,
        contact_masked=mask_contact(contact_kind, contact),
        contact_cipher=SEALED,
        created_by="api_key:responder",
    )
    follow_up = tables.FollowUpTask(
        organization_id=opened.organization_id,
        affected_user_id=user.id,
        incident_id=opened.id,
        kind=FollowUpKind.FOLLOW_UP.value,
        status=TaskStatus.OPEN.value,
        due_at=opened.detected_at + due_in,
    )
    return await stored(session, user, follow_up)


async def review(
    session: AsyncSession, opened: tables.Incident, root_cause: str | None = None
) -> tables.ReviewReport:
    """Store a draft review report with one improvement action."""
    report = tables.ReviewReport(
        **of(opened),
        sections={"timing": {"acknowledge": {"minutes": 12, "deadline_minutes": 30}}},
        root_cause=root_cause,
    )
    action = tables.ImprovementAction(
        **of(opened),
        watchlist_id=opened.watchlist_id,
        action="客服工单 15 分钟内升级",
        owner="客服主管",
    )
    return await stored(session, report, action)


async def endpoint(
    session: AsyncSession,
    org: uuid.UUID,
    name: str = "工单系统",
    url: str = "https://hooks.example.com/crisis?token=abcdefghijklmnop",
    kind: EndpointKind = EndpointKind.STANDARD,
    event_types: list[EventType] | None = None,
) -> tables.WebhookEndpoint:
    """Store a webhook endpoint with a sealed secret."""
    registered = tables.WebhookEndpoint(
        organization_id=org,
        name=name,
        kind=kind.value,
        url=url,
        event_types=[e.value for e in event_types or [EventType.INCIDENT_OPENED]],
        secret_cipher=SEALED,
        previous_secret_cipher=SEALED,
    )
    return await stored(session, registered)


async def delivery(
    session: AsyncSession,
    target: tables.WebhookEndpoint,
    created_at: datetime,
    status: str = "succeeded",
    **fields: Any,
) -> tables.WebhookDelivery:
    """Store one logged delivery for `target`."""
    fields.setdefault("event_type", EventType.INCIDENT_OPENED.value)
    fields.setdefault("payload", {"incident": {"title": "奶粉质量投诉集中爆发"}})
    fields.setdefault("attempts", 1)
    logged = tables.WebhookDelivery(
        organization_id=target.organization_id,
        endpoint_id=target.id,
        event_id=uuid.uuid4(),
        status=status,
        created_at=created_at,
        updated_at=created_at,
        **fields,
    )
    return await stored(session, logged)
