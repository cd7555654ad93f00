"""Keyset pagination: opaque cursors over (sort key, id) in a chosen order, never OFFSET.

A cursor names its connection, the order it was issued for and the key value and id of
its row. A mention cursor is refused by the incidents field, and a cursor issued for one
`orderBy` is refused under another, instead of silently paging through the wrong order.
The id breaks ties, so rows sharing a key value are neither repeated nor skipped.

A page is read as plain rows of its table's columns (`page_select`), not ORM objects, on
one connection that can also read what the page's nodes will show (`Preload`).
"""

import base64
import binascii
import json
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, DateTime, Float, String, literal, select, tuple_
from sqlalchemy import Select as SqlSelect
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from gateway.core.errors import GatewayError
from gateway.core.reads import plain_columns, read_rows, reading

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Row = TypeVar("Row")
Node = TypeVar("Node", bound=relay.Node)
Statement = TypeVar("Statement", bound=SqlSelect[*tuple[Any, ...]])
KeyValue = datetime | int | float | str
# Reads what a page's nodes will ask for, for all of them at once, on the page's connection.
Preload = Callable[[AsyncConnection, list[Node]], Awaitable[None]]

# How each kind of key value is tagged in a cursor and bound back into SQL.
_TAGS: dict[type, tuple[str, TypeEngine[Any]]] = {
    datetime: ("t", DateTime(timezone=True)),
    int: ("i", BigInteger()),
    float: ("f", Float()),
    str: ("s", String()),
}


class InvalidPaginationError(GatewayError):
    """A page size out of range or a cursor this connection did not issue."""


@dataclass(frozen=True)
class Ordering:
    """A connection's order: one non-null sort key, then the row id, both one direction."""

    name: str
    key: Any  # a column or an expression over columns, e.g. `reposts + comments + likes`
    value_type: type
    descending: bool = True

    @property
    def label(self) -> str:
        """Return the order as clients name it, e.g. `POSTED_AT DESC`."""
        return f"{self.name} {'DESC' if self.descending else 'ASC'}"


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows, each with its cursor, and whether more follow."""

    rows: list[tuple[str, Row]]
    has_next_page: bool


def encode_cursor(kind: str, ordering: Ordering, value: KeyValue, id_: uuid.UUID) -> str:
    """Return the opaque cursor of the row (`value`, `id_`) in connection `kind`."""
    tag, _ = _TAGS[ordering.value_type]
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([kind, ordering.label, tag, shown, str(id_)], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(kind: str, ordering: Ordering, cursor: str) -> tuple[KeyValue, uuid.UUID]:
    """Return the (key value, id) inside a cursor of connection `kind` in `ordering`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, label, tag, shown, id_ = json.loads(base64.urlsafe_b64decode(padded).decode())
        if prefix != kind:
            raise ValueError(prefix)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidPaginationError(f"`after` is not a cursor of this {kind} list.") from exc
    if label != ordering.label:
        raise InvalidPaginationError(
            f"`after` is a cursor of this {kind} list ordered by {label}, not "
            f"{ordering.label}; after changing `orderBy`, start again without `after`."
        )
    try:
        if tag != _TAGS[ordering.value_type][0]:
            raise ValueError(tag)
        return _read_value(ordering.value_type, shown), uuid.UUID(id_)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidPaginationError(f"`after` is not a cursor of this {kind} list.") from exc


def _read_value(value_type: type, shown: Any) -> KeyValue:
    if value_type is datetime:
        moment = datetime.fromisoformat(shown)
        if moment.tzinfo is None:
            raise ValueError(shown)
        return moment
    # JSON has one number type: an int key must come back as an int, a float key as a float.
    if value_type is int and type(shown) is int:
        return shown
    if value_type is float and type(shown) in (int, float):
        return float(shown)
    if value_type is str and isinstance(shown, str):
        return shown
    raise ValueError(shown)


def check_page_size(first: int | None) -> int:
    """Return `first` (default 20) if it is a page size clients may ask for."""
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0 or first > MAX_PAGE_SIZE:
        raise InvalidPaginationError(f"`first` must be between 0 and {MAX_PAGE_SIZE}, got {first}.")
    return first


def ordered(
    statement: Statement,
    *,
    kind: str,
    ordering: Ordering,
    id_column: Any,
    first: int,
    after: str | None,
) -> Statement:
    """Return `statement` from after the cursor in `ordering`, one row beyond the page."""
    if after is not None:
        statement = statement.where(keyset_after(kind, ordering, id_column, after))
    return sort(statement, ordering, id_column).limit(first + 1)


def keyset_after(kind: str, ordering: Ordering, id_column: Any, after: str) -> Any:
    """Return the condition "comes after the cursor `after`" of connection `kind` in `ordering`."""
    value, id_ = decode_cursor(kind, ordering, after)
    key = tuple_(ordering.key, id_column)
    bound = tuple_(literal(value, _TAGS[ordering.value_type][1]), literal(id_, UUID(as_uuid=True)))
    return key < bound if ordering.descending else key > bound


def sort(statement: Statement, ordering: Ordering, id_column: Any) -> Statement:
    """Return `statement` sorted by `ordering`, ties broken by id in the same direction."""
    if ordering.descending:
        return statement.order_by(ordering.key.desc(), id_column.desc())
    return statement.order_by(ordering.key.asc(), id_column.asc())


def paged(
    kind: str, ordering: Ordering, id_key: str, rows: Sequence[tuple[Row, Any]], first: int
) -> Page[Row]:
    """Cut the fetched (row, key value) pairs to a page, each row with its cursor."""
    return Page(
        rows=[
            (encode_cursor(kind, ordering, value, getattr(row, id_key)), row)
            for row, value in rows[:first]
        ],
        has_next_page=len(rows) > first,
    )


def page_select(table: type[SQLModel], ordering: Ordering) -> SqlSelect[Any]:
    """Select `table`'s columns as a plain row, then the sort key of `ordering` last."""
    return select(*plain_columns(table), ordering.key.label("sort_key"))


async def fetch_ordered_page(
    connection: AsyncConnection,
    statement: SqlSelect[Any],
    *,
    kind: str,
    ordering: Ordering,
    id_column: Any,
    first: int | None,
    after: str | None,
) -> Page[Any]:
    """Run `statement`, a `page_select` of plain rows, as one page of `kind`."""
    size = check_page_size(first)
    statement = ordered(
        statement, kind=kind, ordering=ordering, id_column=id_column, first=size, after=after
    )
    rows = await read_rows(connection, statement)
    return paged(kind, ordering, id_column.key, [(row, row[-1]) for row in rows], size)


async def fetch_page(
    sessions: async_sessionmaker[AsyncSession],
    statement: SqlSelect[Any],
    *,
    kind: str,
    at_column: Any,
    id_column: Any,
    first: int,
    after: str | None,
    oldest_first: bool = False,
) -> Page[Any]:
    """Run `statement`, a select of plain rows, newest (or oldest) first by a timestamp column."""
    ordering = Ordering(at_column.key.upper(), at_column, datetime, descending=not oldest_first)
    size = check_page_size(first)
    statement = ordered(
        statement, kind=kind, ordering=ordering, id_column=id_column, first=size, after=after
    )
    async with reading(sessions) as connection:
        rows = await read_rows(connection, statement)
    keyed = [(row, getattr(row, at_column.key)) for row in rows]
    return paged(kind, ordering, id_column.key, keyed, size)


def page_info(page: Page[Any], after: str | None) -> relay.PageInfo:
    """Return the Relay page info of a forward-only page reached through `after`."""
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        # Forward-only paging: a page reached through a cursor has rows before it.
        has_previous_page=after is not None,
        start_cursor=page.rows[0][0] if page.rows else None,
        end_cursor=page.rows[-1][0] if page.rows else None,
    )


async def fetch_connection(
    sessions: async_sessionmaker[AsyncSession],
    listing: tuple[SqlSelect[Any], Ordering],
    connection: type[relay.Connection[Node]],
    build: Callable[[Any], Node],
    *,
    kind: str,
    id_column: Any,
    first: int | None,
    after: str | None,
    preload: Preload[Node] | None = None,
) -> relay.Connection[Node]:
    """Fetch one page of a listing (a `page_select`) as a Relay connection.

    `preload`, when given, reads what the page's nodes will be asked for on the same
    connection, for all nodes at once, and hands it to them.
    """
    statement, ordering = listing
    async with reading(sessions) as database:
        page = await fetch_ordered_page(
            database,
            statement,
            kind=kind,
            ordering=ordering,
            id_column=id_column,
            first=first,
            after=after,
        )
        nodes = [build(row) for _, row in page.rows]
        if preload is not None and nodes:
            await preload(database, nodes)
    return connection(
        page_info=page_info(page, after),
        edges=[
            relay.Edge(cursor=cursor, node=node)
            for (cursor, _), node in zip(page.rows, nodes, strict=True)
        ],
    )
