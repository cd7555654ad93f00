"""Watchlists, lexicons, per-mention analysis, stories, risk signals and drills.

Written only by the analysis service.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from libs.database.tables._types import (
    OrganizationRow,
    at_field,
    child_of,
    gin_index,
    jsonb_field,
    org_field,
    uuid_array_field,
)


class Watchlist(OrganizationRow, table=True):
    """A named boolean watch rule; its current tier and last spike drive hysteresis and cooldown.

    `keywords` are the organization's dictionary words for it (brand, product and person
    names that segmentation keeps whole); `query` is the rule that decides a match.
    `decision_due_at` is set while a backfill of its history settles: its decision waits
    until then, and the re-scoring sweep takes it (`services.analysis.pipeline.backfill`).
    """

    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    name: str = Field(max_length=200)
    keywords: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    query: str = Field(default="", max_length=10_000)
    # A `WatchlistKind`: competitor and industry watchlists never open incidents.
    kind: str = Field(
        default="own_brand", max_length=16, sa_column_kwargs={"server_default": "own_brand"}
    )
    current_tier: str | None = Field(default=None, max_length=8)
    tier_changed_at: datetime | None = at_field(nullable=True)
    last_spike_at: datetime | None = at_field(nullable=True)
    last_spike_count: int | None = None
    decision_due_at: datetime | None = at_field(nullable=True)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class SensitiveTerm(OrganizationRow, table=True):
    """An organization's change to the default sensitive-term lexicon (weight 0 disables)."""

    __tablename__ = "sensitive_term"
    __table_args__ = (UniqueConstraint("organization_id", "term"),)

    term: str = Field(max_length=50)
    category: str = Field(max_length=16)
    weight: float
    updated_at: datetime = at_field(default_now=True)


class Story(OrganizationRow, table=True):
    """Reposts and near-duplicates of one post (传播路径); `signature` is its first MinHash."""

    __table_args__ = (Index("ix_story_org_last_posted", "organization_id", "last_posted_at", "id"),)

    title: str = Field(max_length=300)
    first_mention_id: uuid.UUID = child_of("mention", index=True)
    first_author_id: uuid.UUID | None = Field(default=None, foreign_key="author.id", index=True)
    signature: bytes | None = Field(default=None, sa_type=LargeBinary)
    mention_count: int = 0
    started_at: datetime = at_field()
    last_posted_at: datetime = at_field()
    created_at: datetime = at_field(default_now=True)


class StoryBand(SQLModel, table=True):
    """A long-kept LSH band key of a story (a quarter of them, `libs.story_bands.is_lasting`).

    Any worker finds a near-duplicate's story through it for `RETENTION_STORY_BANDS_DAYS`
    after the story's last post.
    """

    __tablename__ = "story_band"

    organization_id: uuid.UUID = Field(
        primary_key=True, foreign_key="organization.id", ondelete="CASCADE"
    )
    band_key: int = Field(primary_key=True, sa_type=BigInteger)
    story_id: uuid.UUID = child_of("story", index=True)


class StoryBandRecent(SQLModel, table=True):
    """One of a story's other band keys, kept while it is recent (`libs.story_bands`).

    A table of its own so that the lookups for these keys read an index of about a day of
    stories, small enough to stay in memory, rather than one of a month.
    """

    __tablename__ = "story_band_recent"

    organization_id: uuid.UUID = Field(
        primary_key=True, foreign_key="organization.id", ondelete="CASCADE"
    )
    band_key: int = Field(primary_key=True, sa_type=BigInteger)
    story_id: uuid.UUID = child_of("story", index=True)


class MentionAnalysis(SQLModel, table=True):
    """What analysis concluded about one mention; its presence means the mention is analysed."""

    __tablename__ = "mention_analysis"
    __table_args__ = (
        gin_index("ix_mention_analysis_watchlists", "watchlist_ids"),
        Index("ix_mention_analysis_org_sentiment", "organization_id", "sentiment"),
        Index("ix_mention_analysis_story_posted", "story_id", "posted_at"),
        Index("ix_mention_analysis_org_posted", "organization_id", "posted_at"),
        # Mentions by influence walk it in order (`OuterKey`), ties broken by the mention id.
        Index("ix_mention_analysis_org_influence", "organization_id", "influence", "mention_id"),
    )

    mention_id: uuid.UUID = Field(primary_key=True, foreign_key="mention.id", ondelete="CASCADE")
    organization_id: uuid.UUID = org_field()
    posted_at: datetime | None = at_field(nullable=True)
    sentiment: str = Field(max_length=8)
    sentiment_score: float
    sentiment_probability: float = 0.0
    sentiment_evidence: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    tokens: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    hashtags: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    watchlist_ids: list[uuid.UUID] = uuid_array_field()
    matched_keywords: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    sensitive_score: float = 0.0
    sensitive_hits: list[dict[str, Any]] = jsonb_field(default=list)
    crisis_type: str | None = Field(default=None, max_length=32)
    crisis_confidence: float = 0.0
    crisis_evidence: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    story_id: uuid.UUID | None = Field(default=None, foreign_key="story.id", ondelete="SET NULL")
    parent_mention_id: uuid.UUID | None = Field(default=None)
    influence: float = 0.0
    amplifier: bool = False
    analyzed_at: datetime = at_field(default_now=True)


class WatchlistHit(SQLModel, table=True):
    """A mention matched by a watchlist, with what the risk model reads, keyed for time ranges.

    The risk model reads a watchlist's recent window from this table alone, through its
    primary key, instead of joining mentions, analyses and authors on every decision.
    """

    __tablename__ = "watchlist_hit"
    # A watchlist's stories (`stories(watchlistId:)`) probe it story by story.
    __table_args__ = (Index("ix_watchlist_hit_watchlist_story", "watchlist_id", "story_id"),)

    watchlist_id: uuid.UUID = Field(
        primary_key=True, foreign_key="watchlist.id", ondelete="CASCADE"
    )
    posted_at: datetime = Field(primary_key=True, sa_type=DateTime(timezone=True))
    mention_id: uuid.UUID = Field(
        primary_key=True, foreign_key="mention.id", ondelete="CASCADE", index=True
    )
    organization_id: uuid.UUID = org_field()
    author_id: uuid.UUID | None = None
    author_handle: str | None = Field(default=None, max_length=200)
    author_kind: str = Field(default="user", max_length=8)
    followers: int = Field(default=0, sa_type=BigInteger)
    views: int = Field(default=0, sa_type=BigInteger)
    influence: float = 0.0
    sentiment: str = Field(max_length=8)
    sensitive_score: float = 0.0
    sensitive_terms: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    crisis_type: str | None = Field(default=None, max_length=32)
    crisis_evidence: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    story_id: uuid.UUID | None = None
    source: str = Field(default="other", max_length=16)


class RiskSignal(OrganizationRow, table=True):
    """A tier decision for a watchlist with the components, mentions and forecast behind it."""

    __tablename__ = "risk_signal"
    __table_args__ = (Index("ix_risk_signal_watchlist_created", "watchlist_id", "created_at"),)

    watchlist_id: uuid.UUID = child_of("watchlist")
    tier: str = Field(max_length=8)
    score: float
    components: dict[str, Any] = jsonb_field()
    reasons: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    top_mention_ids: list[uuid.UUID] = uuid_array_field()
    crisis_type: str | None = Field(default=None, max_length=32)
    story_id: uuid.UUID | None = Field(
        default=None, foreign_key="story.id", ondelete="SET NULL", index=True
    )
    forecast: dict[str, Any] | None = Field(default=None, sa_type=JSONB, nullable=True)
    window_start: datetime = at_field()
    window_end: datetime = at_field()
    created_at: datetime = at_field(default_now=True)


class Backtest(OrganizationRow, table=True):
    """A console's request to replay a watchlist's history under a draft rule, and its findings.

    Requested through GraphQL and run by an analysis worker (which has the analyzer loaded),
    because a replay over days of mentions outlasts any request a caller waits on: the
    console polls this row. `result` holds the replayed tier changes, the incidents they
    would have opened and how those compare with the incidents actually recorded.
    """

    watchlist_id: uuid.UUID = child_of("watchlist", index=True)
    query: str = Field(max_length=10_000)
    since: datetime = at_field()
    until: datetime = at_field()
    status: str = Field(max_length=16)
    requested_by: str = Field(max_length=200)
    requested_at: datetime = at_field(default_now=True)
    finished_at: datetime | None = at_field(nullable=True)
    mentions_read: int = 0
    mentions_matched: int = 0
    result: dict[str, Any] = jsonb_field()
    error: str | None = Field(default=None, max_length=1000)


class Drill(OrganizationRow, table=True):
    """A crisis played through the real pipeline for practice (定期模拟演练), and its score card.

    Owned by analysis because a drill is, first of all, its own watchlist: the drill and
    that watchlist are made in one transaction, the watchlist matches only its mentions,
    and everything it opens downstream (incident, tasks, events) is marked `drill` from it.
    `delivery` says what notify does with the drill's events: `suppress` sends nothing,
    `label` sends them marked 【演练】. `score_card` is written when the drill ends.
    """

    __table_args__ = (UniqueConstraint("watchlist_id"),)

    watchlist_id: uuid.UUID = child_of("watchlist")
    scenario: str = Field(max_length=16)
    replay_incident_id: uuid.UUID | None = None
    speed: float
    delivery: str = Field(max_length=8)
    state: str = Field(max_length=8)
    started_by: str = Field(max_length=200)
    started_at: datetime = at_field(default_now=True)
    ended_at: datetime | None = at_field(nullable=True)
    score_card: dict[str, Any] = jsonb_field()
