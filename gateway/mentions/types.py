"""A mention as clients read it: its author, metrics and analysis; the mention list's filter.

Every node exposes a global `id` for Relay and `databaseId` (the row's UUID) so a client
can correlate with the REST ingest API. A mention's author and analysis come with its page
when the page read them for all its nodes (`gateway.mentions.queries.mention_extras`),
else load through the request's DataLoaders; never one query per row.

A complaint is a mention of source `complaint` plus the row the service desk needs
(`complaint`, written by ingest): its details show the channel and the order number masked
to its last four, as the REST API answers it (with the desk's records it leads to a person).
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Awaitable
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, Self

import strawberry
from strawberry import relay
from strawberry.types.lazy_type import LazyType
from strawberry.types.unset import UNSET, UnsetType

from gateway.core.context import Info
from gateway.core.enums import (
    AuthorKind,
    CrisisType,
    SensitiveCategory,
    Sentiment,
    Source,
)
from gateway.core.errors import REMOVAL
from gateway.core.execution import answered_by
from gateway.core.nodes import Loaded, LoadedNode, load_by_name
from gateway.core.reads import ById
from gateway.core.rows import converted, each, from_columns, optional
from gateway.mentions.loaders import (
    ANALYSES,
    AUTHORS,
    COMPLAINTS,
    COMPLAINTS_BY_MENTION,
    MENTIONS,
)
from gateway.watchlists.types import Watchlist
from libs.database import tables
from libs.privacy import mask_order_id

# A story lists its mentions, so the mention names its story lazily, without an import.
StoryRef: LazyType[str, str] = LazyType("Story", "gateway.stories.types")


@strawberry.type(description="Who posted a mention.")
class Author(Loaded):
    ROWS = AUTHORS
    CONVERTED = converted(kind=AuthorKind)

    handle: str
    followers: int
    verified: bool
    kind: AuthorKind


@strawberry.type(description="Engagement counts as last reported by the source.")
class Metrics:
    reposts: int
    comments: int
    likes: int
    views: int


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


@strawberry.type(description="What analysis concluded about a mention.")
class Analysis(Loaded):
    ROWS = ANALYSES
    CONVERTED = converted(
        sentiment=Sentiment,
        sensitive_hits=each(SensitiveHit.from_json),
        crisis_type=optional(CrisisType),
    )

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

    @strawberry.field(description="Watchlists whose rules this mention matched.")
    async def watchlists(self, info: Info) -> list[Watchlist]:
        return await Watchlist.load_many(info, self.watchlist_ids)

    @strawberry.field(
        graphql_type=StoryRef | None,
        description="The story (传播路径) the mention belongs to, if any.",
    )
    async def story(self, info: Info) -> relay.Node | None:
        if self.story_id is None:
            return None
        return await load_by_name(info, "Story", self.story_id)

    @strawberry.field(description="The post this one reposted or quoted, when it is stored.")
    async def parent_mention(self, info: Info) -> "Mention | None":
        return await Mention.load(info, self.parent_mention_id)


@strawberry.enum(
    description=(
        "Where a customer complained (渠道): hotline (客服热线), app, e-commerce platform "
        "(电商平台), customer service desk, e-mail, WeChat, regulator (12315, 消费者协会), "
        "store, or other."
    )
)
class ComplaintChannel(Enum):
    """A complaint's channel, valued as the ingest service stores it.

    Ingest owns the vocabulary (`ComplaintChannel` in its complaint schemas) and refuses any
    other value, and the gateway may not import it, so it is mirrored here;
    `tests/test_gateway_vocabulary.py` fails when the two differ.
    """

    HOTLINE = "hotline"
    APP = "app"
    ECOMMERCE_PLATFORM = "ecommerce_platform"
    CUSTOMER_SERVICE_DESK = "customer_service_desk"
    EMAIL = "email"
    WECHAT = "wechat"
    REGULATOR = "regulator"
    STORE = "store"
    OTHER = "other"


@strawberry.type(
    description="What a service desk told us with a complaint: where, and about which order."
)
class ComplaintDetails(Loaded):
    ROWS: ClassVar[ById[tables.Complaint]] = COMPLAINTS

    database_id: uuid.UUID
    mention_id: uuid.UUID = strawberry.field(description="The mention the complaint became.")
    channel: str = strawberry.field(
        description=(
            "Where the customer complained (渠道): hotline, app, ecommerce_platform, "
            "customer_service_desk, email, wechat, regulator, store or other."
        ),
        deprecation_reason=f"Use `channelKind`; {REMOVAL}",
    )
    customer_ref: str = strawberry.field(
        description="The customer's id at the desk; phone numbers and e-mails in it masked."
    )
    order_id_masked: str | None = strawberry.field(
        description="The order number masked to its last four: `************3012`."
    )
    created_at: datetime

    @strawberry.field(
        description=(
            "Where the customer complained (渠道): HOTLINE, APP, ECOMMERCE_PLATFORM, "
            "CUSTOMER_SERVICE_DESK, EMAIL, WECHAT, REGULATOR, STORE or OTHER."
        )
    )
    def channel_kind(self) -> ComplaintChannel:
        return ComplaintChannel(self.channel)

    @classmethod
    def from_row(cls, row: tables.Complaint) -> Self:
        """Build from a complaint row, masking its order number."""
        return cls(
            database_id=row.id,
            mention_id=row.mention_id,
            channel=row.channel,
            customer_ref=row.customer_ref,
            order_id_masked=mask_order_id(row.order_id) if row.order_id else None,
            created_at=row.created_at,
        )

    @classmethod
    async def of_mention(cls, info: Info, mention_id: uuid.UUID) -> Self | None:
        """Load the complaint a mention came from, if it came from one."""
        row = await info.context.loaders.of(COMPLAINTS_BY_MENTION).load(mention_id)
        return cls.from_row(row) if row is not None else None


@strawberry.type(description="One public post or complaint, as received.")
class Mention(LoadedNode):
    ROWS: ClassVar[ById[tables.Mention]] = MENTIONS

    source: Source
    external_id: str
    text: str
    url: str | None
    posted_at: datetime
    ingested_at: datetime
    repost_of: str | None
    metrics: Metrics
    author_id: strawberry.Private[uuid.UUID | None]
    # Handed over by a page that read them for all its mentions (`mention_extras`).
    known_author: strawberry.Private[Author | UnsetType | None] = UNSET
    known_analysis: strawberry.Private[Analysis | UnsetType | None] = UNSET

    @classmethod
    def from_row(cls, row: tables.Mention) -> Self:
        """Build from a mention row."""
        return from_columns(cls, row, source=Source(row.source), metrics=from_columns(Metrics, row))

    # Plain resolvers: a page that preloaded the value answers at once, without a task per
    # field (the executor takes it straight from the attribute, `answered_by`); any other
    # mention returns the DataLoader's awaitable instead.
    @strawberry.field(
        graphql_type=Author | None, description="Who posted it, when the source told us."
    )
    @answered_by("known_author")
    def author(self, info: Info) -> Author | Awaitable[Author | None] | None:
        if not isinstance(self.known_author, UnsetType):
            return self.known_author
        return Author.load(info, self.author_id)

    @strawberry.field(
        graphql_type=Analysis | None,
        description="What analysis concluded; null until the mention is analysed.",
    )
    @answered_by("known_analysis")
    def analysis(self, info: Info) -> Analysis | Awaitable[Analysis | None] | None:
        if not isinstance(self.known_analysis, UnsetType):
            return self.known_analysis
        return Analysis.load(info, self.id)

    @strawberry.field(
        description="The complaint's details (channel, masked order number) when a desk pushed "
        "it as a complaint; null for any other mention."
    )
    async def complaint(self, info: Info) -> ComplaintDetails | None:
        if self.source is not Source.COMPLAINT:
            return None
        return await ComplaintDetails.of_mention(info, self.id)
