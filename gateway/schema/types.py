"""The objects frontends read, each a Relay node built from one table row.

Every node exposes a global `id` for Relay and `databaseId` (the row's UUID) so a client
can correlate with the REST ingest API. Nested objects load through the request's
DataLoaders, never one query per row.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import ClassVar, Self, TypeVar, cast

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gateway.context import Info
from gateway.schema.enums import AuthorKind, IncidentStatus, Sentiment, Source, TaskStatus, Tier
from libs.database import tables

Node = TypeVar("Node")
Row = TypeVar("Row")


def parse_uuid(value: str) -> uuid.UUID | None:
    """Return `value` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def resolve_by_ids(
    node_ids: Iterable[str],
    load: Callable[[uuid.UUID], Awaitable[Row | None]],
    build: Callable[[Row], Node],
    *,
    required: bool,
    type_name: str,
) -> list[Node | None]:
    """Load nodes for Relay's `node` field, in order, None where missing or foreign."""
    ids = list(node_ids)
    rows = await asyncio.gather(*(_load_or_none(load, node_id) for node_id in ids))
    if required and any(row is None for row in rows):
        missing = [node_id for node_id, row in zip(ids, rows, strict=True) if row is None]
        raise LookupError(f"No {type_name} with id {', '.join(missing)}.")
    return [build(row) if row is not None else None for row in rows]


class LoadedNode(relay.Node):
    """Relay node lookup through the request's DataLoader named by `LOADER`.

    Loaders filter by the caller's organization, so `node(id:)` never returns another
    organization's row.
    """

    LOADER: ClassVar[str]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Load nodes of this type by id, in order."""
        load = getattr(info.context.loaders, cls.LOADER).load
        # Each node type defines its own `from_row` for its own table row.
        build = cast(Callable[[object], Self], getattr(cls, "from_row"))  # noqa: B009
        return await resolve_by_ids(
            node_ids, load, build, required=required, type_name=cls.__name__
        )


async def _load_or_none(
    load: Callable[[uuid.UUID], Awaitable[Row | None]], node_id: str
) -> Row | None:
    id_ = parse_uuid(node_id)
    return await load(id_) if id_ is not None else None


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


@strawberry.type(description="A named set of keywords a company watches.")
class Watchlist(LoadedNode):
    LOADER: ClassVar[str] = "watchlists"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    name: str
    keywords: list[str]
    current_tier: Tier | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.Watchlist) -> Self:
        """Build from a watchlist row."""
        return cls(
            id=row.id,
            database_id=row.id,
            name=row.name,
            keywords=list(row.keywords),
            current_tier=Tier(row.current_tier) if row.current_tier else None,
            created_at=row.created_at,
        )


@strawberry.type(description="What analysis concluded about a mention.")
class Analysis:
    sentiment: Sentiment
    sentiment_score: float
    matched_keywords: list[str]
    tokens: list[str]
    analyzed_at: datetime
    watchlist_ids: strawberry.Private[list[uuid.UUID]]

    @classmethod
    def from_row(cls, row: tables.MentionAnalysis) -> Self:
        """Build from a mention_analysis row."""
        return cls(
            sentiment=Sentiment(row.sentiment),
            sentiment_score=row.sentiment_score,
            matched_keywords=list(row.matched_keywords),
            tokens=list(row.tokens),
            analyzed_at=row.analyzed_at,
            watchlist_ids=list(row.watchlist_ids),
        )

    @strawberry.field(description="Watchlists whose rules this mention matched.")
    async def watchlists(self, info: Info) -> list[Watchlist]:
        rows = await info.context.loaders.watchlists.load_many(self.watchlist_ids)
        return [Watchlist.from_row(row) for row in rows if row is not None]


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

    @strawberry.field(description="Who posted it, when the source told us.")
    async def author(self, info: Info) -> Author | None:
        if self.author_id is None:
            return None
        row = await info.context.loaders.authors.load(self.author_id)
        return Author.from_row(row) if row is not None else None

    @strawberry.field(description="What analysis concluded; null until the mention is analysed.")
    async def analysis(self, info: Info) -> Analysis | None:
        row = await info.context.loaders.analyses.load(self.id)
        return Analysis.from_row(row) if row is not None else None


@strawberry.type(description="A tier decision for a watchlist, with the reasons behind it.")
class RiskSignal(LoadedNode):
    LOADER: ClassVar[str] = "signals"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    tier: Tier
    score: float
    reasons: list[str]
    components: JSON
    window_start: datetime
    window_end: datetime
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.RiskSignal) -> Self:
        """Build from a risk_signal row."""
        return cls(
            id=row.id,
            database_id=row.id,
            tier=Tier(row.tier),
            score=row.score,
            reasons=list(row.reasons),
            components=JSON(row.components),
            window_start=row.window_start,
            window_end=row.window_end,
            created_at=row.created_at,
        )


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
    watchlist_id: strawberry.Private[uuid.UUID]
    last_signal_id: strawberry.Private[uuid.UUID | None]

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
            watchlist_id=row.watchlist_id,
            last_signal_id=row.last_signal_id,
        )

    @strawberry.field(description="The watchlist whose risk opened this incident.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        row = await info.context.loaders.watchlists.load(self.watchlist_id)
        return Watchlist.from_row(row) if row is not None else None

    @strawberry.field(description="Response tasks in playbook order.")
    async def tasks(self, info: Info) -> list[ResponseTask]:
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
