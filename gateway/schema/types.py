"""The objects frontends read, each a Relay node built from one table row.

Every node exposes a global `id` for Relay and `databaseId` (the row's UUID) so a client
can correlate with the REST ingest API. Nested objects come with their page when the page
read them for all its nodes (`gateway.schema.preload`), else load through the request's
DataLoaders; never one query per row.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, ClassVar, Self

import strawberry
from sqlalchemy import select
from sqlmodel import col
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET, UnsetType

from gateway.context import Info
from gateway.grouped_loaders import plain_columns
from gateway.schema.enums import (
    AuthorKind,
    Channel,
    CrisisType,
    IncidentStatus,
    SensitiveCategory,
    Sentiment,
    Source,
    TaskStatus,
    TeamRole,
    Tier,
)
from gateway.schema.nodes import LoadedNode
from gateway.schema.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_info
from gateway.schema.response_types import (
    AffectedUser,
    KeyFact,
    ReviewReport,
    Statement,
    TeamMember,
)
from libs.database import tables

# How the risk model stores "below blue" (no tier) in `risk_signal.tier`.
NO_TIER = "none"


def parse_tier(value: str | None) -> Tier | None:
    """Read a stored tier: NULL and "none" (dropped below blue) are both no tier."""
    return None if value is None or value == NO_TIER else Tier(value)


@strawberry.type(description="Who posted a mention.")
class Author:
    handle: str
    followers: int
    verified: bool
    kind: AuthorKind

    @classmethod
    def from_row(cls, row: tables.Author) -> Self:
        """Build from an author row."""
        return cls(
            handle=row.handle,
            followers=row.followers,
            verified=row.verified,
            kind=AuthorKind(row.kind),
        )


@strawberry.type(description="Engagement counts as last reported by the source.")
class Metrics:
    reposts: int
    comments: int
    likes: int
    views: int


@strawberry.type(
    description="A named watch rule: a boolean query over words, with dictionary keywords."
)
class Watchlist(LoadedNode):
    LOADER: ClassVar[str] = "watchlists"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    name: str
    keywords: list[str] = strawberry.field(
        description="Names segmentation keeps whole (brands, products, people)."
    )
    query: str = strawberry.field(
        description=(
            "The rule that decides a match, in canonical form, e.g. "
            "`(奶粉 | 米粉) & (致癌 | 召回) & !谣言`; made from the keywords when none was given."
        )
    )
    current_tier: Tier | None = strawberry.field(description="Null when below blue.")
    created_at: datetime
    updated_at: datetime
    last_spike_at: datetime | None = strawberry.field(
        description="When the mention count last spiked above its baseline; null if never."
    )

    @classmethod
    def from_row(cls, row: tables.Watchlist) -> Self:
        """Build from a watchlist row."""
        return cls(
            id=row.id,
            database_id=row.id,
            name=row.name,
            keywords=list(row.keywords),
            query=row.query,
            current_tier=parse_tier(row.current_tier),
            created_at=row.created_at,
            updated_at=row.updated_at,
            last_spike_at=row.last_spike_at,
        )


@strawberry.type(description="A sensitive term (敏感词) found in a mention, with its weight.")
class SensitiveHit:
    term: str
    category: SensitiveCategory
    weight: float

    @classmethod
    def from_json(cls, hit: dict[str, Any]) -> Self:
        """Build from one entry of `mention_analysis.sensitive_hits`."""
        return cls(
            term=str(hit["term"]),
            category=SensitiveCategory(hit["category"]),
            weight=float(hit["weight"]),
        )


@strawberry.type(description="An organization's change to one term of the sensitive lexicon.")
class SensitiveTerm:
    term: str
    category: SensitiveCategory
    weight: float = strawberry.field(description="From 0 to 1; 0 disables a default term.")
    updated_at: datetime

    @classmethod
    def from_row(cls, row: tables.SensitiveTerm) -> Self:
        """Build from a sensitive_term row."""
        return cls(
            term=row.term,
            category=SensitiveCategory(row.category),
            weight=row.weight,
            updated_at=row.updated_at,
        )


@strawberry.type(description="What analysis concluded about a mention.")
class Analysis:
    sentiment: Sentiment
    sentiment_score: float = strawberry.field(
        description="From -1 (most negative) to 1 (most positive)."
    )
    sentiment_probability: float = strawberry.field(
        description="How sure the classifier is of `sentiment`, from 0 to 1."
    )
    sentiment_evidence: list[str] = strawberry.field(
        description="The words or phrases that decided the sentiment."
    )
    matched_keywords: list[str] = strawberry.field(
        description="Terms of the watchlists' rules found in the mention."
    )
    tokens: list[str]
    hashtags: list[str] = strawberry.field(description="Topics (#话题#) the mention carries.")
    sensitive_score: float = strawberry.field(
        description="How strongly sensitive terms weigh in the mention, from 0 to 1."
    )
    sensitive_hits: list[SensitiveHit]
    crisis_type: CrisisType | None = strawberry.field(
        description="The kind of crisis the mention's cues point to; null when none does."
    )
    crisis_confidence: float = strawberry.field(description="From 0 to 1; 0 without a type.")
    crisis_evidence: list[str] = strawberry.field(
        description="The cues that decided the crisis type."
    )
    influence: float = strawberry.field(
        description="How far the mention is likely to reach, from the author and engagement."
    )
    amplifier: bool = strawberry.field(
        description="Whether the mention carries a story to a large audience (媒体、大V)."
    )
    analyzed_at: datetime
    watchlist_ids: strawberry.Private[list[uuid.UUID]]
    story_id: strawberry.Private[uuid.UUID | None]
    parent_mention_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: tables.MentionAnalysis) -> Self:
        """Build from a mention_analysis row."""
        return cls(
            sentiment=Sentiment(row.sentiment),
            sentiment_score=row.sentiment_score,
            sentiment_probability=row.sentiment_probability,
            sentiment_evidence=list(row.sentiment_evidence),
            matched_keywords=list(row.matched_keywords),
            tokens=list(row.tokens),
            hashtags=list(row.hashtags),
            sensitive_score=row.sensitive_score,
            sensitive_hits=[SensitiveHit.from_json(hit) for hit in row.sensitive_hits],
            crisis_type=CrisisType(row.crisis_type) if row.crisis_type else None,
            crisis_confidence=row.crisis_confidence,
            crisis_evidence=list(row.crisis_evidence),
            influence=row.influence,
            amplifier=row.amplifier,
            analyzed_at=row.analyzed_at,
            watchlist_ids=list(row.watchlist_ids),
            story_id=row.story_id,
            parent_mention_id=row.parent_mention_id,
        )

    @strawberry.field(description="Watchlists whose rules this mention matched.")
    async def watchlists(self, info: Info) -> list[Watchlist]:
        rows = await info.context.loaders.watchlists.load_many(self.watchlist_ids)
        return [Watchlist.from_row(row) for row in rows if row is not None]

    @strawberry.field(description="The story (传播路径) the mention belongs to, if any.")
    async def story(self, info: Info) -> "Story | None":
        return await load_story(info, self.story_id)

    @strawberry.field(description="The post this one reposted or quoted, when it is stored.")
    async def parent_mention(self, info: Info) -> "Mention | None":
        if self.parent_mention_id is None:
            return None
        row = await info.context.loaders.mentions.load(self.parent_mention_id)
        return Mention.from_row(row) if row is not None else None


@strawberry.type(description="One public post or complaint, as received.")
class Mention(LoadedNode):
    LOADER: ClassVar[str] = "mentions"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    source: Source
    external_id: str
    text: str
    url: str | None
    posted_at: datetime
    ingested_at: datetime
    repost_of: str | None
    metrics: Metrics
    author_id: strawberry.Private[uuid.UUID | None]
    # Handed over by a page that read them for all its mentions (`gateway.schema.preload`).
    known_author: strawberry.Private[Author | UnsetType | None] = UNSET
    known_analysis: strawberry.Private[Analysis | UnsetType | None] = UNSET

    @classmethod
    def from_row(cls, row: tables.Mention) -> Self:
        """Build from a mention row."""
        return cls(
            id=row.id,
            database_id=row.id,
            source=Source(row.source),
            external_id=row.external_id,
            text=row.text,
            url=row.url,
            posted_at=row.posted_at,
            ingested_at=row.ingested_at,
            repost_of=row.repost_of,
            metrics=Metrics(
                reposts=row.reposts, comments=row.comments, likes=row.likes, views=row.views
            ),
            author_id=row.author_id,
        )

    # Plain resolvers: a page that preloaded the value answers at once, without a task per
    # field; any other mention returns the DataLoader's awaitable instead.
    @strawberry.field(
        graphql_type=Author | None, description="Who posted it, when the source told us."
    )
    def author(self, info: Info) -> Author | Awaitable[Author | None] | None:
        if not isinstance(self.known_author, UnsetType):
            return self.known_author
        return self._load_author(info)

    @strawberry.field(
        graphql_type=Analysis | None,
        description="What analysis concluded; null until the mention is analysed.",
    )
    def analysis(self, info: Info) -> Analysis | Awaitable[Analysis | None] | None:
        if not isinstance(self.known_analysis, UnsetType):
            return self.known_analysis
        return self._load_analysis(info)

    async def _load_author(self, info: Info) -> Author | None:
        if self.author_id is None:
            return None
        row = await info.context.loaders.authors.load(self.author_id)
        return Author.from_row(row) if row is not None else None

    async def _load_analysis(self, info: Info) -> Analysis | None:
        row = await info.context.loaders.analyses.load(self.id)
        return Analysis.from_row(row) if row is not None else None


async def load_story(info: Info, story_id: uuid.UUID | None) -> "Story | None":
    """Load a story through the request's loader; None when absent or another tenant's."""
    if story_id is None:
        return None
    row = await info.context.loaders.stories.load(story_id)
    return Story.from_row(row) if row is not None else None


@strawberry.type(description="An author who carried a story to a large audience (放大者).")
class Amplifier:
    influence: float = strawberry.field(
        description="The highest influence among the author's mentions in the story."
    )
    author_id: strawberry.Private[uuid.UUID]
    first_mention_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who amplified the story.")
    async def author(self, info: Info) -> Author:
        row = await info.context.loaders.authors.load(self.author_id)
        if row is None:
            raise LookupError(f"Author {self.author_id} of an amplifier cannot be read.")
        return Author.from_row(row)

    @strawberry.field(description="The author's earliest mention in the story.")
    async def first_mention(self, info: Info) -> Mention:
        return await load_mention(info, self.first_mention_id)


@strawberry.type(description="One repost link of a story: a mention and the post it came through.")
class RepostEdge:
    mention: Mention = strawberry.field(description="The repost.")
    parent_mention: Mention = strawberry.field(description="The mention it was reposted from.")


async def load_mention(info: Info, mention_id: uuid.UUID) -> Mention:
    """Load a mention that must exist: the database keeps story members' mentions."""
    row = await info.context.loaders.mentions.load(mention_id)
    if row is None:
        raise LookupError(f"Mention {mention_id} cannot be read.")
    return Mention.from_row(row)


@strawberry.type(
    description=(
        "One post and its reposts and near-duplicates (传播路径): how a piece of content spread."
    )
)
class Story(LoadedNode):
    LOADER: ClassVar[str] = "stories"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    title: str
    mention_count: int
    started_at: datetime = strawberry.field(description="When the first mention was posted.")
    last_posted_at: datetime = strawberry.field(description="When the latest one was posted.")
    first_mention_id: strawberry.Private[uuid.UUID]
    first_author_id: strawberry.Private[uuid.UUID | None]

    @classmethod
    def from_row(cls, row: tables.Story) -> Self:
        """Build from a story row."""
        return cls(
            id=row.id,
            database_id=row.id,
            title=row.title,
            mention_count=row.mention_count,
            started_at=row.started_at,
            last_posted_at=row.last_posted_at,
            first_mention_id=row.first_mention_id,
            first_author_id=row.first_author_id,
        )

    @strawberry.field(description="The post that started the story (首发).")
    async def first_mention(self, info: Info) -> Mention:
        return await load_mention(info, self.first_mention_id)

    @strawberry.field(description="Who posted first, when the source told us.")
    async def first_poster(self, info: Info) -> Author | None:
        if self.first_author_id is None:
            return None
        row = await info.context.loaders.authors.load(self.first_author_id)
        return Author.from_row(row) if row is not None else None

    @strawberry.field(
        description=(
            "Authors with at least one amplifying mention in the story, most influential first."
        )
    )
    async def amplifiers(self, info: Info) -> list[Amplifier]:
        rows = await info.context.loaders.amplifiers_by_story.load(self.id)
        return [
            Amplifier(
                influence=row.influence,
                author_id=row.author_id,
                first_mention_id=row.first_mention_id,
            )
            for row in rows
        ]

    @strawberry.field(description="The story's mentions in posting order, oldest first.")
    async def mentions(
        self, info: Info, first: int | None = DEFAULT_PAGE_SIZE, after: str | None = None
    ) -> relay.Connection[Mention]:
        organization_id = info.context.principal.organization_id
        analysis = tables.MentionAnalysis
        statement = (
            select(*plain_columns(tables.Mention))
            .join(analysis, col(analysis.mention_id) == col(tables.Mention.id))
            .where(
                col(analysis.story_id) == self.id,
                col(analysis.organization_id) == organization_id,
                col(tables.Mention.organization_id) == organization_id,
            )
        )
        page = await fetch_page(
            info.context.sessions,
            statement,
            kind="story-mention",
            at_column=col(tables.Mention.posted_at),
            id_column=col(tables.Mention.id),
            first=DEFAULT_PAGE_SIZE if first is None else first,
            after=after,
            oldest_first=True,
        )
        return relay.Connection[Mention](
            page_info=page_info(page, after),
            edges=[
                relay.Edge(cursor=cursor, node=Mention.from_row(row)) for cursor, row in page.rows
            ],
        )

    @strawberry.field(
        description=(
            "Each member that came through a repost, linked to its parent, in posting order; "
            "follow the links from `firstMention` to draw the spread."
        )
    )
    async def repost_tree(self, info: Info) -> list[RepostEdge]:
        links = await info.context.loaders.reposts_by_story.load(self.id)
        return [
            RepostEdge(
                mention=Mention.from_row(link.mention), parent_mention=Mention.from_row(link.parent)
            )
            for link in links
        ]


@strawberry.type(
    description="Where the watchlist is heading if mentions keep coming at the current pace."
)
class Forecast:
    next_tier: Tier = strawberry.field(description="The tier above the signal's.")
    rate_per_minute: float = strawberry.field(description="Mentions per minute in the window.")
    eta_minutes: int | None = strawberry.field(
        description="Minutes until `nextTier` is reached; null if not within the horizon."
    )
    projected_score: float = strawberry.field(description="The score expected at the horizon.")

    @classmethod
    def from_json(cls, forecast: dict[str, Any]) -> Self:
        """Build from `risk_signal.forecast`."""
        eta = forecast.get("eta_minutes")
        return cls(
            next_tier=Tier(forecast["next_tier"]),
            rate_per_minute=float(forecast["rate_per_minute"]),
            eta_minutes=int(eta) if eta is not None else None,
            projected_score=float(forecast["projected_score"]),
        )


@strawberry.type(description="A tier decision for a watchlist, with the reasons behind it.")
class RiskSignal(LoadedNode):
    LOADER: ClassVar[str] = "signals"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    tier: Tier | None = strawberry.field(
        description=(
            "The tier decided; null when the watchlist dropped below blue (no tier), "
            "which is recorded as a signal too."
        )
    )
    score: float = strawberry.field(description="From 0 to 100.")
    reasons: list[str]
    components: JSON = strawberry.field(
        description="Each weighted score component in [0, 1] and the tests behind it."
    )
    crisis_type: CrisisType | None = strawberry.field(
        description="The window's dominant crisis type, when cues point to one."
    )
    forecast: Forecast | None = strawberry.field(
        description="Null when there is no higher tier or no forecast was made."
    )
    window_start: datetime
    window_end: datetime
    created_at: datetime
    story_id: strawberry.Private[uuid.UUID | None]
    top_mention_ids: strawberry.Private[list[uuid.UUID]]

    @classmethod
    def from_row(cls, row: tables.RiskSignal) -> Self:
        """Build from a risk_signal row."""
        return cls(
            id=row.id,
            database_id=row.id,
            tier=parse_tier(row.tier),
            score=row.score,
            reasons=list(row.reasons),
            components=JSON(row.components),
            crisis_type=CrisisType(row.crisis_type) if row.crisis_type else None,
            forecast=Forecast.from_json(row.forecast) if row.forecast else None,
            window_start=row.window_start,
            window_end=row.window_end,
            created_at=row.created_at,
            story_id=row.story_id,
            top_mention_ids=list(row.top_mention_ids),
        )

    @strawberry.field(description="The largest story in the window, when there is one.")
    async def story(self, info: Info) -> "Story | None":
        return await load_story(info, self.story_id)

    @strawberry.field(description="The mentions that weighed most in the decision, in order.")
    async def top_mentions(self, info: Info) -> list[Mention]:
        rows = await info.context.loaders.mentions.load_many(self.top_mention_ids)
        return [Mention.from_row(row) for row in rows if row is not None]


@strawberry.type(description="A playbook task with its deadline.")
class ResponseTask(LoadedNode):
    LOADER: ClassVar[str] = "tasks"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    title: str
    kind: str
    due_at: datetime
    status: TaskStatus
    completed_at: datetime | None
    completed_by: str | None
    role: TeamRole | None = strawberry.field(description="The team role that owns the task.")
    channel: Channel | None = strawberry.field(
        description="The channel a statement task is for; null for other tasks."
    )
    breached_at: datetime | None = strawberry.field(
        description="When the deadline watchdog found the task past due; null if never."
    )
    escalated_to: TeamRole | None = strawberry.field(
        description="The role the breach was escalated to; null if not escalated."
    )

    @classmethod
    def from_row(cls, row: tables.ResponseTask) -> Self:
        """Build from a response_task row."""
        return cls(
            id=row.id,
            database_id=row.id,
            title=row.title,
            kind=row.kind,
            due_at=row.due_at,
            status=TaskStatus(row.status),
            completed_at=row.completed_at,
            completed_by=row.completed_by,
            role=TeamRole(row.role) if row.role else None,
            channel=Channel(row.channel) if row.channel else None,
            breached_at=row.breached_at,
            escalated_to=TeamRole(row.escalated_to) if row.escalated_to else None,
        )


@strawberry.type(description="One change to an incident: what, who and when.")
class TimelineEvent(LoadedNode):
    LOADER: ClassVar[str] = "events"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    kind: str
    message: str
    actor: str
    occurred_at: datetime
    data: JSON

    @classmethod
    def from_row(cls, row: tables.TimelineEvent) -> Self:
        """Build from a timeline_event row."""
        return cls(
            id=row.id,
            database_id=row.id,
            kind=row.kind,
            message=row.message,
            actor=row.actor,
            occurred_at=row.occurred_at,
            data=JSON(row.data),
        )


@strawberry.type(description="A crisis being handled, from detection to review.")
class Incident(LoadedNode):
    LOADER: ClassVar[str] = "incidents"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    title: str
    tier: Tier
    status: IncidentStatus
    detected_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    crisis_type: CrisisType | None
    status_reason: str | None = strawberry.field(
        description="Why the incident last changed status, as the responder wrote it."
    )
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_count: int
    watchlist_id: strawberry.Private[uuid.UUID]
    last_signal_id: strawberry.Private[uuid.UUID | None]
    merged_into_id: strawberry.Private[uuid.UUID | None]
    recurrence_of_id: strawberry.Private[uuid.UUID | None]
    # Handed over by a page that read them for all its incidents (`gateway.schema.preload`).
    known_tasks: strawberry.Private[list[ResponseTask] | UnsetType] = UNSET

    @classmethod
    def from_row(cls, row: tables.Incident) -> Self:
        """Build from an incident row."""
        return cls(
            id=row.id,
            database_id=row.id,
            title=row.title,
            tier=Tier(row.tier),
            status=IncidentStatus(row.status),
            detected_at=row.detected_at,
            acknowledged_at=row.acknowledged_at,
            acknowledged_by=row.acknowledged_by,
            crisis_type=CrisisType(row.crisis_type) if row.crisis_type else None,
            status_reason=row.status_reason,
            resolved_at=row.resolved_at,
            closed_at=row.closed_at,
            reopened_count=row.reopened_count,
            watchlist_id=row.watchlist_id,
            last_signal_id=row.last_signal_id,
            merged_into_id=row.merged_into_id,
            recurrence_of_id=row.recurrence_of_id,
        )

    @strawberry.field(description="The incident this one was merged into; null unless merged.")
    async def merged_into(self, info: Info) -> "Incident | None":
        return await _load_incident(info, self.merged_into_id)

    @strawberry.field(
        description="An earlier, similar incident this one repeats (same watchlist or story)."
    )
    async def recurrence_of(self, info: Info) -> "Incident | None":
        return await _load_incident(info, self.recurrence_of_id)

    @strawberry.field(description="Who holds which role on the team, in order of assignment.")
    async def team(self, info: Info) -> list[TeamMember]:
        rows = await info.context.loaders.response.team_by_incident.load(self.id)
        return [TeamMember.from_row(row) for row in rows]

    @strawberry.field(description="Statements for every channel, oldest first.")
    async def statements(self, info: Info) -> list[Statement]:
        rows = await info.context.loaders.response.statements_by_incident.load(self.id)
        return [Statement.from_row(row) for row in rows]

    @strawberry.field(description="The facts every statement must carry (一致性原则).")
    async def key_facts(self, info: Info) -> list[KeyFact]:
        rows = await info.context.loaders.response.key_facts_by_incident.load(self.id)
        return [KeyFact.from_row(row) for row in rows]

    @strawberry.field(description="Customers the incident harmed, masked, with their follow-ups.")
    async def affected_users(self, info: Info) -> list[AffectedUser]:
        rows = await info.context.loaders.response.affected_users_by_incident.load(self.id)
        return [AffectedUser.from_row(row) for row in rows]

    @strawberry.field(description="The review report (复盘); null until the incident resolves.")
    async def review(self, info: Info) -> ReviewReport | None:
        row = await info.context.loaders.response.review_by_incident.load(self.id)
        return ReviewReport.from_row(row) if row is not None else None

    @strawberry.field(description="The watchlist whose risk opened this incident.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        row = await info.context.loaders.watchlists.load(self.watchlist_id)
        return Watchlist.from_row(row) if row is not None else None

    @strawberry.field(
        graphql_type=list[ResponseTask], description="Response tasks in playbook order."
    )
    def tasks(self, info: Info) -> list[ResponseTask] | Awaitable[list[ResponseTask]]:
        # A page that preloaded the tasks answers at once; any other incident loads them.
        if not isinstance(self.known_tasks, UnsetType):
            return self.known_tasks
        return self._load_tasks(info)

    async def _load_tasks(self, info: Info) -> list[ResponseTask]:
        rows = await info.context.loaders.tasks_by_incident.load(self.id)
        return [ResponseTask.from_row(row) for row in rows]

    @strawberry.field(description="Every change to the incident, oldest first.")
    async def timeline(self, info: Info) -> list[TimelineEvent]:
        rows = await info.context.loaders.timeline_by_incident.load(self.id)
        return [TimelineEvent.from_row(row) for row in rows]

    @strawberry.field(description="The most recent risk signal that raised or joined it.")
    async def latest_signal(self, info: Info) -> RiskSignal | None:
        if self.last_signal_id is None:
            return None
        row = await info.context.loaders.signals.load(self.last_signal_id)
        return RiskSignal.from_row(row) if row is not None else None


async def _load_incident(info: Info, incident_id: uuid.UUID | None) -> Incident | None:
    if incident_id is None:
        return None
    row = await info.context.loaders.incidents.load(incident_id)
    return Incident.from_row(row) if row is not None else None
