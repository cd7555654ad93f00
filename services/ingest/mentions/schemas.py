"""Request and response shapes of the mention routes."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from libs.contracts.enums import AuthorKind, Sentiment, Source
from services.ingest.schemas import FieldError, MentionIn, MetricsIn

MAX_BATCH = 1000


class MentionBatchIn(BaseModel):
    """A batch of 1 to 1000 mentions; each item is validated on its own."""

    mentions: list[MentionIn] = Field(min_length=1, max_length=MAX_BATCH)


class Envelope(BaseModel):
    """The outer shape, checked before any item, so a malformed body fails as a whole."""

    mentions: list[Any] = Field(min_length=1, max_length=MAX_BATCH)


class ItemResult(BaseModel):
    """The fate of one item, in the order sent."""

    index: int
    status: Literal["accepted", "duplicate", "rejected"]
    id: uuid.UUID | None = None
    errors: list[FieldError] = Field(default_factory=list)


class BatchResult(BaseModel):
    """The answer to a batch: one result per item and the counts."""

    accepted: int
    duplicates: int
    rejected: int
    results: list[ItemResult]


class AuthorOut(BaseModel):
    """Author as stored."""

    handle: str
    followers: int
    verified: bool
    kind: AuthorKind


class AnalysisOut(BaseModel):
    """What analysis concluded, once it has run."""

    sentiment: Sentiment
    sentiment_score: float
    tokens: list[str]
    watchlist_ids: list[uuid.UUID]
    matched_keywords: list[str]
    analyzed_at: datetime


class MentionOut(BaseModel):
    """A stored mention with its analysis (null until analysed)."""

    id: uuid.UUID
    source: Source
    external_id: str
    text: str
    text_normalized: str
    url: str | None
    posted_at: datetime
    ingested_at: datetime
    repost_of: str | None
    author: AuthorOut | None
    metrics: MetricsIn
    analysis: AnalysisOut | None
