"""Keyset pagination: opaque cursors over (timestamp, id), newest first by default, never OFFSET.

The cursor names its connection, so a mention cursor is refused by the incidents field
instead of silently paging through the wrong order.
"""

import base64
import binascii
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import DateTime, literal, tuple_
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar
from strawberry import relay

from gateway.schema.errors import GatewayError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Row = TypeVar("Row", bound=SQLModel)


class InvalidPaginationError(GatewayError):
    """A page size out of range or a cursor this connection did not issue."""


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows, each with its cursor, and whether more follow."""

    rows: list[tuple[str, Row]]
    has_next_page: bool


def encode_cursor(kind: str, at: datetime, id_: uuid.UUID) -> str:
    """Return the opaque cursor of the row at (`at`, `id_`) in connection `kind`."""
    raw = f"{kind}|{at.isoformat()}|{id_}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> tuple[datetime, uuid.UUID]:
    """Return the (timestamp, id) inside a cursor of connection `kind`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, at, id_ = base64.urlsafe_b64decode(padded).decode().split("|")
        if prefix != kind:
            raise ValueError(prefix)
        moment = datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise ValueError(at)
        return moment, uuid.UUID(id_)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidPaginationError(f"`after` is not a cursor of this {kind} list.") from exc


def check_page_size(first: int) -> int:
    """Return `first` if it is a page size clients may ask for."""
    if first < 0 or first > MAX_PAGE_SIZE:
        raise InvalidPaginationError(f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}.")
    return first


async def fetch_page(
    sessions: async_sessionmaker[AsyncSession],
    statement: SelectOfScalar[Row],
    *,
    kind: str,
    at_column: Any,
    id_column: Any,
    first: int,
    after: str | None,
    oldest_first: bool = False,
) -> Page[Row]:
    """Run `statement` newest (or oldest) first from after the cursor, one row beyond the page."""
    check_page_size(first)
    if after is not None:
        at, id_ = decode_cursor(kind, after)
        key = tuple_(at_column, id_column)
        bound = tuple_(literal(at, DateTime(timezone=True)), literal(id_, UUID(as_uuid=True)))
        statement = statement.where(key > bound if oldest_first else key < bound)
    if oldest_first:
        statement = statement.order_by(at_column.asc(), id_column.asc())
    else:
        statement = statement.order_by(at_column.desc(), id_column.desc())
    statement = statement.limit(first + 1)
    async with sessions() as session:
        rows = list((await session.exec(statement)).all())
    page = rows[:first]
    return Page(
        rows=[
            (encode_cursor(kind, getattr(row, at_column.key), getattr(row, id_column.key)), row)
            for row in page
        ],
        has_next_page=len(rows) > first,
    )


def page_info(page: Page[Any], after: str | None) -> relay.PageInfo:
    """Return the Relay page info of a forward-only page reached through `after`."""
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        # Forward-only paging: a page reached through a cursor has rows before it.
        has_previous_page=after is not None,
        start_cursor=page.rows[0][0] if page.rows else None,
        end_cursor=page.rows[-1][0] if page.rows else None,
    )
