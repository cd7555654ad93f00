"""Typed rows: a dataclass per table, checked against its columns, inserted in one statement."""

import dataclasses
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, ClassVar, Protocol, TypedDict, TypeVar

import orjson
from sqlalchemy import text
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, Source
from libs.database.tables import MentionAnalysis, Story, WatchlistHit


class TableRow(Protocol):
    """A dataclass whose fields are columns of `TABLE`."""

    TABLE: ClassVar[type[SQLModel]]
    __dataclass_fields__: ClassVar[dict[str, Any]]


R = TypeVar("R", bound=TableRow)


def table_row(cls: type[R]) -> type[R]:
    """Refuse, when the module loads, a row class with a field its table has no column for."""
    columns = set(cls.TABLE.__table__.columns.keys())  # type: ignore[attr-defined]
    unknown = [f.name for f in dataclasses.fields(cls) if f.name not in columns]
    if unknown:
        raise TypeError(f"{cls.__name__}: {cls.TABLE.__name__} has no column {unknown}")
    return cls


def row_values(row: TableRow) -> dict[str, Any]:
    """Return a row's columns and values, for a statement that takes a dict."""
    return {f.name: getattr(row, f.name) for f in dataclasses.fields(row)}


class SensitiveHitJson(TypedDict):
    """A sensitive term as `mention_analysis.sensitive_hits` stores it."""

    term: str
    category: str
    weight: float


@table_row
@dataclasses.dataclass(frozen=True, slots=True)
class AnalysisRow:
    """What analysis concluded about one mention, as `mention_analysis` stores it."""

    TABLE: ClassVar[type[SQLModel]] = MentionAnalysis

    mention_id: uuid.UUID
    organization_id: uuid.UUID
    posted_at: datetime
    sentiment: str
    sentiment_score: float
    sentiment_probability: float
    sentiment_evidence: Sequence[str]
    tokens: Sequence[str]
    hashtags: Sequence[str]
    watchlist_ids: Sequence[uuid.UUID]
    matched_keywords: Sequence[str]
    sensitive_score: float
    sensitive_hits: Sequence[SensitiveHitJson]
    crisis_type: str | None
    crisis_confidence: float
    crisis_evidence: Sequence[str]
    story_id: uuid.UUID | None
    parent_mention_id: uuid.UUID | None
    influence: float
    amplifier: bool
    analyzed_at: datetime


@table_row
@dataclasses.dataclass(frozen=True, slots=True)
class HitRow:
    """A mention one watchlist matched, with what the risk model reads, as `watchlist_hit`.

    What is not given defaults as the table does: an ordinary user's post with no audience.
    """

    TABLE: ClassVar[type[SQLModel]] = WatchlistHit

    watchlist_id: uuid.UUID
    posted_at: datetime
    mention_id: uuid.UUID
    organization_id: uuid.UUID
    sentiment: str
    author_id: uuid.UUID | None = None
    author_handle: str | None = None
    author_kind: str = AuthorKind.USER.value
    followers: int = 0
    views: int = 0
    influence: float = 0.0
    sensitive_score: float = 0.0
    sensitive_terms: Sequence[str] = ()
    crisis_type: str | None = None
    crisis_evidence: Sequence[str] = ()
    story_id: uuid.UUID | None = None
    source: str = Source.OTHER.value


@table_row
@dataclasses.dataclass(frozen=True, slots=True)
class StoryRow:
    """A story a batch started, as `story` stores it before its members are counted."""

    TABLE: ClassVar[type[SQLModel]] = Story

    id: uuid.UUID
    organization_id: uuid.UUID
    title: str
    first_mention_id: uuid.UUID
    first_author_id: uuid.UUID | None
    signature: bytes | None
    mention_count: int
    started_at: datetime
    last_posted_at: datetime


def _json(value: Any) -> Any:
    # orjson knows uuid.UUID and datetime exactly, not subclasses such as the UUID type
    # asyncpg returns for ids read by a raw query.
    if isinstance(value, uuid.UUID | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


def rows_json(rows: Sequence[TableRow]) -> str:
    """Return rows as one JSON array, the shape `json_populate_recordset` expands."""
    return orjson.dumps(list(rows), default=_json).decode()


async def insert_rows(session: AsyncSession, rows: Sequence[TableRow], tail: str = "") -> Any:
    """Insert rows of one table sent as one JSON document, expanded in PostgreSQL.

    One parameter however many rows: a multi-row VALUES list or executemany of a few
    dozen wide rows costs several times more on the client than in PostgreSQL.
    """
    first = rows[0]
    table = first.TABLE.__tablename__
    columns = ", ".join(f.name for f in dataclasses.fields(first))
    return await session.exec(
        text(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{table}, CAST(:rows AS json)) {tail}"
        ),  # type: ignore[call-overload]
        params={"rows": rows_json(rows)},
    )
