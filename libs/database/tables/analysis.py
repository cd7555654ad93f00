"""Watchlists, per-mention analysis and risk signals. Written only by the analysis service."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from libs.database.tables._types import (
    at_field,
    id_field,
    jsonb_field,
    org_field,
    uuid_array_field,
)


class Watchlist(SQLModel, table=True):
    """A named set of keywords a company watches; its current tier drives hysteresis."""

    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    name: str = Field(max_length=200)
    keywords: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    current_tier: str | None = Field(default=None, max_length=8)
    tier_changed_at: datetime | None = at_field(nullable=True)
    created_at: datetime = at_field(default_now=True)


class MentionAnalysis(SQLModel, table=True):
    """What analysis concluded about one mention; its presence means the mention is analysed."""

    __tablename__ = "mention_analysis"
    __table_args__ = (
        Index("ix_mention_analysis_watchlists", "watchlist_ids", postgresql_using="gin"),
        Index("ix_mention_analysis_org_sentiment", "organization_id", "sentiment"),
    )

    mention_id: uuid.UUID = Field(primary_key=True, foreign_key="mention.id", ondelete="CASCADE")
    organization_id: uuid.UUID = org_field()
    sentiment: str = Field(max_length=8)
    sentiment_score: float
    tokens: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    watchlist_ids: list[uuid.UUID] = uuid_array_field()
    matched_keywords: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    analyzed_at: datetime = at_field(default_now=True)


class RiskSignal(SQLModel, table=True):
    """A tier decision for a watchlist with the components and mentions behind it."""

    __tablename__ = "risk_signal"
    __table_args__ = (Index("ix_risk_signal_watchlist_created", "watchlist_id", "created_at"),)

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
    watchlist_id: uuid.UUID = Field(foreign_key="watchlist.id", ondelete="CASCADE")
    tier: str = Field(max_length=8)
    score: float
    components: dict[str, Any] = jsonb_field()
    reasons: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    top_mention_ids: list[uuid.UUID] = uuid_array_field()
    window_start: datetime = at_field()
    window_end: datetime = at_field()
    created_at: datetime = at_field(default_now=True)
