"""Counts kept as mentions are analysed, so the console never scans the raw mention tables.

Written only by the analysis service, in the transaction that stores the analyses they
count (`libs.database.rollups` holds the SQL). Every counter is additive: an analysis adds
its mention once, a deletion subtracts it, and `crisiswatch rollups rebuild` recounts a
range from the raw tables.
"""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Date, DateTime, Index, SmallInteger
from sqlmodel import Field, SQLModel

EVERY_MENTION = uuid.UUID(int=0)
"""`mention_rollup.watchlist_id` of the rows that count every mention of the organization."""


def _organization() -> Any:
    # The primary key starts with the organization, so it needs no index of its own.
    return Field(primary_key=True, foreign_key="organization.id", ondelete="CASCADE")


def _counter() -> Any:
    return Field(default=0, sa_type=BigInteger)


class MentionRollup(SQLModel, table=True):
    """Analysed mentions posted in one bucket, per watchlist (or all) and platform.

    Three grains are kept (`grain_seconds` 60, 900 and 3600): a dashboard bucket is summed
    from the coarsest grain that divides both its width and its UTC offset, so an hourly
    series over 30 days reads 720 rows per platform, not 43,200. Rows of a deleted
    watchlist stay until a rebuild, as its id stays in the analyses' `watchlist_ids`.
    """

    __tablename__ = "mention_rollup"
    # Every watchlist's buckets of a range at once: share of voice, and a rebuild's delete.
    __table_args__ = (
        Index(
            "ix_mention_rollup_org_grain_bucket", "organization_id", "grain_seconds", "bucket_at"
        ),
    )

    organization_id: uuid.UUID = _organization()
    watchlist_id: uuid.UUID = Field(primary_key=True)
    grain_seconds: int = Field(primary_key=True, sa_type=SmallInteger)
    bucket_at: datetime = Field(primary_key=True, sa_type=DateTime(timezone=True))
    source: str = Field(primary_key=True, max_length=16)
    positive: int = _counter()
    neutral: int = _counter()
    negative: int = _counter()
    sentiment_score_sum: float = 0.0
    reach: int = _counter()
    engagement: int = _counter()


class WatchlistWindowRollup(SQLModel, table=True):
    """A watchlist's analysed mentions, and the harmful ones, per quarter-hour of the clock.

    What a tier decision's history reads (`services.analysis.window`): 117 narrow rows for
    a day and the seasonal slots, where the same quarter-hours of `mention_rollup` come in
    a row per platform. Harmful is negative or carrying a sensitive term.
    """

    __tablename__ = "watchlist_window_rollup"

    organization_id: uuid.UUID = _organization()
    watchlist_id: uuid.UUID = Field(primary_key=True)
    bucket_at: datetime = Field(primary_key=True, sa_type=DateTime(timezone=True))
    mentions: int = _counter()
    harmful: int = _counter()


class AuthorDayRollup(SQLModel, table=True):
    """An author's analysed mentions posted on one UTC day, with their reach and engagement.

    `influence` and `last_posted_at` are maxima: a subtraction leaves them as they were (an
    upper bound) until the day is rebuilt.
    """

    __tablename__ = "author_day_rollup"
    # Every author's days of a window: a windowed author list, and a rebuild's delete; each
    # day's leaders by a figure, for a window's top authors (`gateway.authors.leaders`).
    __table_args__ = (
        Index("ix_author_day_rollup_org_day", "organization_id", "day"),
        *(
            Index(f"ix_author_day_rollup_{figure}", "organization_id", "day", figure, "author_id")
            for figure in ("mention_count", "negative_count", "reach")
        ),
    )

    organization_id: uuid.UUID = _organization()
    author_id: uuid.UUID = Field(primary_key=True)
    day: date = Field(primary_key=True, sa_type=Date)
    mention_count: int = _counter()
    negative_count: int = _counter()
    reach: int = _counter()
    engagement: int = _counter()
    influence: float = 0.0
    last_posted_at: datetime = Field(sa_type=DateTime(timezone=True))


def _ranked(name: str, column: str) -> Index:
    # Read backwards for a descending list: one index serves both directions.
    return Index(f"ix_author_rollup_{name}", "organization_id", column, "author_id")


class AuthorRollup(SQLModel, table=True):
    """An author's analysed mentions of all time: the author list ranks through its indexes."""

    __tablename__ = "author_rollup"
    __table_args__ = (
        _ranked("mentions", "mention_count"),
        _ranked("negative", "negative_count"),
        _ranked("reach", "reach"),
        _ranked("engagement", "engagement"),
        _ranked("influence", "influence"),
        _ranked("last_posted", "last_posted_at"),
    )

    organization_id: uuid.UUID = _organization()
    author_id: uuid.UUID = Field(primary_key=True)
    mention_count: int = _counter()
    negative_count: int = _counter()
    reach: int = _counter()
    engagement: int = _counter()
    influence: float = 0.0
    last_posted_at: datetime = Field(sa_type=DateTime(timezone=True))
