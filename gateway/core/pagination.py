"""Keyset pagination: opaque cursors over (sort key, id) in a chosen order, never OFFSET.

A cursor names its connection, the order it was issued for and the key value and id of
its row. A mention cursor is refused by the incidents field, and a cursor issued for one
`orderBy` is refused under another, instead of silently paging through the wrong order.
The id breaks ties, so rows sharing a key value are neither repeated nor skipped.

A page is asked for as Relay does (`PageRequest`): `first` rows after `after`, or the
`last` rows before `before`. Both directions stay keyset: a backward page reads the list
in the opposite order from its cursor, `last` + 1 rows, and turns them round, so the
last page of ten million rows costs what the first does.

A page is read as plain rows of its table's columns (`page_select`), not ORM objects, on
one connection that can also read what the page's nodes will show (`Preload`).

A key read through an outer join (`OuterKey`) is read in two parts, each in an index's order,
and merged: see `OuterKey`.
"""

import base64
import binascii
import dataclasses
import json
import uuid
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import BigInteger, DateTime, Float, String, literal, literal_column, select, tuple_
from sqlalchemy import Select as SqlSelect
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import TypeEngine
from sqlmodel import SQLModel

from gateway.core.errors import GatewayError
from gateway.core.reads import plain_columns, read_rows

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

Row = TypeVar("Row")
Node = TypeVar("Node")
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
    """A page size out of range, `first` with `last`, or a cursor this list did not issue.

    The error names the argument in its message and in `extensions.field`, with the same
    `InvalidInput` code as other refused input: graphql-core copies an original error's
    `extensions` onto the error it reports.
    """

    def __init__(self, message: str, argument: str) -> None:
        super().__init__(message)
        self.argument = argument

    @property
    def extensions(self) -> dict[str, str] | None:
        """The code of refused input, and the argument at fault."""
        return {"code": "InvalidInput", "field": self.argument}


@dataclass(frozen=True)
class OuterKey:
    """A sort key read from a row the list outer-joins on its id: `column` (never null)
    where the joined row exists, `default` where it does not; `join_id` is the joined row's
    copy of the list's id.

    Sorted as `coalesce(column, default)` over the join, no index holds the key, so
    PostgreSQL sorts every row of the list for each page (2.7 s at 1 M mentions). Read
    instead in two parts, each cut and ordered like the page: the rows with a joined row by
    (`column`, `join_id`), which an index on the joined table's (organization, column, id)
    walks from the cursor; and the rows without one, all at `default`, by id. Merged on
    (key, id) they give the same rows in the same order. The second part is read only when
    the page reaches `default`: when the first part's rows all lie before it, none of the
    rows without a joined row can be on the page.

    "Without a joined row" is a condition no index holds, so `among`, when set, is one that
    every such row meets and an index finds (a mention not analysed yet is among the few
    the reconciler has not checked, or has a failure row): without it the second part
    searches the whole list for them, which at ten million rows takes seconds to find none.
    """

    column: Any
    join_id: Any
    default: float
    among: Any | None = None


@dataclass(frozen=True)
class Ordering:
    """A connection's order: one non-null sort key, then the row id, both one direction;
    `outer` when the key is read through an outer join (see `OuterKey`)."""

    name: str
    key: Any  # a column or an expression over columns, e.g. `reposts + comments + likes`
    value_type: type
    descending: bool = True
    outer: OuterKey | None = None

    @property
    def label(self) -> str:
        """Return the order as clients name it, e.g. `POSTED_AT DESC`."""
        return f"{self.name} {'DESC' if self.descending else 'ASC'}"

    def reversed(self) -> "Ordering":
        """Return the same key run the other way, as a backward page reads it."""
        return dataclasses.replace(self, descending=not self.descending)


@dataclass(frozen=True)
class PageRequest:
    """One page as a client asks for it: `size` rows after `after` and before `before`,
    counted from the start of that range, or from its end when `backward` (`last`)."""

    size: int
    backward: bool = False
    after: str | None = None
    before: str | None = None

    @classmethod
    def of(
        cls,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        *,
        default: int = DEFAULT_PAGE_SIZE,
        most: int = MAX_PAGE_SIZE,
    ) -> "PageRequest":
        """Check the Relay arguments; `default` rows forward when neither size is given."""
        if first is not None and last is not None:
            raise InvalidPaginationError(
                "Give `first` or `last`, not both: `first` counts from the start (after "
                "`after`), `last` from the end (before `before`).",
                "last",
            )
        if last is not None:
            return cls(_checked("last", last, most), True, after, before)
        size = default if first is None else _checked("first", first, most)
        return cls(size, False, after, before)


def _checked(argument: str, size: int, most: int) -> int:
    if size < 0 or size > most:
        raise InvalidPaginationError(
            f"`{argument}` must be between 0 and {most}, got {size}.", argument
        )
    return size


@dataclass(frozen=True)
class Page(Generic[Row]):
    """One page of rows in list order, whether rows lie beyond either end of it, and what
    each row's cursor is made of: cursors are encoded only when a client asks for one
    (most pages show nodes, not cursors, and a cursor is a JSON document in base64)."""

    rows: list[Row]
    # Each row's sort-key value, in the order of `rows`.
    keys: list[KeyValue]
    has_next_page: bool
    has_previous_page: bool
    kind: str
    ordering: Ordering
    id_key: str

    def cursor(self, index: int) -> str:
        """Return the cursor of the row at `index`."""
        row = self.rows[index]
        return encode_cursor(self.kind, self.ordering, self.keys[index], getattr(row, self.id_key))


def encode_cursor(kind: str, ordering: Ordering, value: KeyValue, id_: uuid.UUID) -> str:
    """Return the opaque cursor of the row (`value`, `id_`) in connection `kind`."""
    tag, _ = _TAGS[ordering.value_type]
    shown = value.isoformat() if isinstance(value, datetime) else value
    raw = json.dumps([kind, ordering.label, tag, shown, str(id_)], ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(
    kind: str, ordering: Ordering, cursor: str, argument: str = "after"
) -> tuple[KeyValue, uuid.UUID]:
    """Return the (key value, id) inside a cursor of connection `kind` in `ordering`;
    `argument` (`after` or `before`) names it in the error when it is not one."""
    not_ours = f"`{argument}` is not a cursor of this {kind} list."
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        prefix, label, tag, shown, id_ = json.loads(base64.urlsafe_b64decode(padded).decode())
        if prefix != kind:
            raise ValueError(prefix)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidPaginationError(not_ours, argument) from exc
    if label != ordering.label:
        raise InvalidPaginationError(
            f"`{argument}` is a cursor of this {kind} list ordered by {label}, not "
            f"{ordering.label}; after changing `orderBy`, start again without `{argument}`.",
            argument,
        )
    try:
        if tag != _TAGS[ordering.value_type][0]:
            raise ValueError(tag)
        return _read_value(ordering.value_type, shown), uuid.UUID(id_)
    except (ValueError, TypeError, AttributeError) as exc:
        raise InvalidPaginationError(not_ours, argument) from exc


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


def _keyset(
    kind: str,
    ordering: Ordering,
    id_column: Any,
    cursor: str,
    argument: str,
    *,
    later: bool,
    inclusive: bool = False,
) -> Any:
    """Rows later (or earlier) in `ordering` than the cursor's row, or that row itself if
    `inclusive`: one row comparison, which an index on (key, id) answers directly."""
    value, id_ = decode_cursor(kind, ordering, cursor, argument)
    key = tuple_(ordering.key, id_column)
    bound = tuple_(literal(value, _TAGS[ordering.value_type][1]), literal(id_, UUID(as_uuid=True)))
    if ordering.descending is later:
        return key <= bound if inclusive else key < bound
    return key >= bound if inclusive else key > bound


def keyset_after(
    kind: str, ordering: Ordering, id_column: Any, after: str, argument: str = "after"
) -> Any:
    """Return the condition "comes after the cursor `after`" of connection `kind` in `ordering`."""
    return _keyset(kind, ordering, id_column, after, argument, later=True)


def keyset_before(
    kind: str, ordering: Ordering, id_column: Any, before: str, argument: str = "before"
) -> Any:
    """Return the condition "comes before the cursor `before`" of `kind` in `ordering`."""
    return _keyset(kind, ordering, id_column, before, argument, later=False)


def between(kind: str, ordering: Ordering, id_column: Any, request: PageRequest) -> list[Any]:
    """Return the conditions keeping the rows between the request's cursors."""
    conditions = []
    if request.after is not None:
        conditions.append(keyset_after(kind, ordering, id_column, request.after))
    if request.before is not None:
        conditions.append(keyset_before(kind, ordering, id_column, request.before))
    return conditions


def sort(statement: Statement, ordering: Ordering, id_column: Any) -> Statement:
    """Return `statement` sorted by `ordering`, ties broken by id in the same direction."""
    if ordering.descending:
        return statement.order_by(ordering.key.desc(), id_column.desc())
    return statement.order_by(ordering.key.asc(), id_column.asc())


def window(
    statement: Statement, *, kind: str, ordering: Ordering, id_column: Any, request: PageRequest
) -> Statement:
    """Return `statement` cut to the request's page and one row beyond it, in reading order:
    the list's order forward, the opposite one backward."""
    statement = statement.where(*between(kind, ordering, id_column, request))
    reading_order = ordering.reversed() if request.backward else ordering
    return sort(statement, reading_order, id_column).limit(request.size + 1)


def paged(
    kind: str,
    ordering: Ordering,
    id_key: str,
    rows: Sequence[tuple[Row, Any]],
    request: PageRequest,
) -> Page[Row]:
    """Cut the (row, key value) pairs `window` read to a page in list order; its cursors are
    encoded from the key values when asked for.

    The side the page was counted from is known exactly (a row beyond the page was read or
    not); the other side is known to hold rows only when a cursor was given there, and
    `far_side` can check that it still does.
    """
    kept = list(rows[: request.size])
    if request.backward:
        kept.reverse()
    beyond = len(rows) > request.size
    return Page(
        rows=[row for row, _ in kept],
        keys=[value for _, value in kept],
        has_next_page=request.before is not None if request.backward else beyond,
        has_previous_page=beyond if request.backward else request.after is not None,
        kind=kind,
        ordering=ordering,
        id_key=id_key,
    )


def far_side(
    statement: SqlSelect[Any],
    *,
    kind: str,
    ordering: Ordering,
    id_column: Any,
    request: PageRequest,
) -> SqlSelect[Any] | None:
    """Return a one-row read of the rows behind the cursor a page started from, or None
    when the page started at an end of the list (no cursor on that side).

    It reads outward from the cursor (the cursor's own row first, if it is still there),
    so the index finds the answer in one step wherever the cursor lies.
    """
    if request.backward and request.before is not None:
        cursor, argument, later, outward = request.before, "before", True, ordering
    elif not request.backward and request.after is not None:
        cursor, argument, later, outward = request.after, "after", False, ordering.reversed()
    else:
        return None
    behind = _keyset(kind, ordering, id_column, cursor, argument, later=later, inclusive=True)
    probe: SqlSelect[Any] = statement.with_only_columns(
        literal_column("1"), maintain_column_froms=True
    )
    return sort(probe.where(behind), outward, id_column).limit(1)


def checked_far_side(page: Page[Row], request: PageRequest, found: bool) -> Page[Row]:
    """Return `page` with the far side's flag set to what `far_side` found."""
    if request.backward:
        return dataclasses.replace(page, has_next_page=found)
    return dataclasses.replace(page, has_previous_page=found)


def page_select(
    table: type[SQLModel], ordering: Ordering, *, omit: Collection[Any] = ()
) -> SqlSelect[Any]:
    """Select `table`'s columns (but those in `omit`) as a plain row, then the sort key of
    `ordering` last."""
    return select(*plain_columns(table, omit), ordering.key.label("sort_key"))


async def fetch_ordered_page(
    connection: AsyncConnection,
    statement: SqlSelect[Any],
    *,
    kind: str,
    ordering: Ordering,
    id_column: Any,
    request: PageRequest,
    check_far_side: bool = False,
) -> Page[Any]:
    """Run `statement`, a `page_select` of plain rows, as one page of `kind`.

    With `check_far_side`, whether rows lie behind the starting cursor is read too (one
    more indexed row), instead of assumed from the cursor being given.
    """
    if ordering.outer is not None:
        return await _fetch_outer_page(
            connection,
            statement,
            kind=kind,
            ordering=ordering,
            outer=ordering.outer,
            id_column=id_column,
            request=request,
            check_far_side=check_far_side,
        )
    cut = window(statement, kind=kind, ordering=ordering, id_column=id_column, request=request)
    rows = await read_rows(connection, cut)
    page = paged(kind, ordering, id_column.key, [(row, row[-1]) for row in rows], request)
    probe = far_side(statement, kind=kind, ordering=ordering, id_column=id_column, request=request)
    if check_far_side and probe is not None:
        found = (await connection.execute(probe)).first() is not None
        page = checked_far_side(page, request, found)
    return page


def _at_default(
    kind: str,
    ordering: Ordering,
    id_column: Any,
    default: float,
    cursor: str,
    argument: str,
    *,
    later: bool,
    inclusive: bool = False,
) -> list[Any] | None:
    """Return `_keyset`'s condition for rows whose key is the constant `default`, decided
    here rather than left to PostgreSQL: none (None) when the cursor's key excludes
    `default`, nothing when it admits every such row, else a condition on the id alone.

    Bound as parameters, `(default, id) < (value, cursor id)` is not folded away when a
    generic plan is used, and the read of the rows without a joined row would then search
    them all to return nothing.
    """
    value, id_ = decode_cursor(kind, ordering, cursor, argument)
    if not isinstance(value, float):  # an `OuterKey` is a float key: its cursors hold floats
        raise InvalidPaginationError(f"`{argument}` is not a cursor of this {kind} list.", argument)
    smaller = ordering.descending is later  # the rows wanted sort below the cursor's
    if default != value:
        return [] if (default < value) is smaller else None
    bound = literal(id_, UUID(as_uuid=True))
    if smaller:
        return [id_column <= bound if inclusive else id_column < bound]
    return [id_column >= bound if inclusive else id_column > bound]


def _default_range(
    kind: str, ordering: Ordering, id_column: Any, default: float, request: PageRequest
) -> list[Any] | None:
    """Return the conditions keeping the rows at `default` between the request's cursors,
    or None when no such row lies between them."""
    conditions: list[Any] = []
    sides = ((request.after, "after", True), (request.before, "before", False))
    for cursor, argument, later in sides:
        if cursor is None:
            continue
        found = _at_default(kind, ordering, id_column, default, cursor, argument, later=later)
        if found is None:
            return None
        conditions += found
    return conditions


def _joined_part(
    statement: SqlSelect[Any], ordering: Ordering, outer: OuterKey
) -> tuple[Ordering, SqlSelect[Any]]:
    """Return the ordering and the rows of an `OuterKey` list's part with a joined row.

    The same name, type and direction as `ordering`, so the cursors issued are those of the
    one-part read; the key is the joined column itself, which an index walks.
    """
    return (
        dataclasses.replace(ordering, key=outer.column, outer=None),
        statement.where(outer.join_id.is_not(None)),
    )


def _absent(outer: OuterKey) -> list[Any]:
    """Conditions of an `OuterKey` list's part without a joined row."""
    conditions = [outer.join_id.is_(None)]
    if outer.among is not None:
        conditions.append(outer.among)
    return conditions


async def _fetch_outer_page(
    connection: AsyncConnection,
    statement: SqlSelect[Any],
    *,
    kind: str,
    ordering: Ordering,
    outer: OuterKey,
    id_column: Any,
    request: PageRequest,
    check_far_side: bool,
) -> Page[Any]:
    """Read one page of a list sorted by an `OuterKey`, in its two parts, merged."""
    joined, present = _joined_part(statement, ordering, outer)
    cut = window(present, kind=kind, ordering=joined, id_column=outer.join_id, request=request)
    rows = list(await read_rows(connection, cut))
    reading_order = ordering.reversed() if request.backward else ordering
    limit = request.size + 1
    last = rows[-1][-1] if len(rows) == limit else None
    reaches_default = last is None or (
        last <= outer.default if reading_order.descending else last >= outer.default
    )
    within = _default_range(kind, ordering, id_column, outer.default, request)
    if reaches_default and within is not None:
        absent = statement.where(*_absent(outer), *within)
        by_id = id_column.desc() if reading_order.descending else id_column.asc()
        rows += await read_rows(connection, absent.order_by(by_id).limit(limit))
        id_key = id_column.key
        rows.sort(key=lambda row: (row[-1], getattr(row, id_key)), reverse=reading_order.descending)
        del rows[limit:]
    page = paged(kind, ordering, id_column.key, [(row, row[-1]) for row in rows], request)
    if check_far_side:
        found = await _outer_far_side(
            connection,
            statement,
            kind=kind,
            ordering=ordering,
            outer=outer,
            id_column=id_column,
            request=request,
        )
        if found is not None:
            page = checked_far_side(page, request, found)
    return page


async def _outer_far_side(
    connection: AsyncConnection,
    statement: SqlSelect[Any],
    *,
    kind: str,
    ordering: Ordering,
    outer: OuterKey,
    id_column: Any,
    request: PageRequest,
) -> bool | None:
    """Return whether rows lie behind the starting cursor of a list sorted by an
    `OuterKey` (None without such a cursor): a row with a joined row first, through its
    index, and only if there is none, a row at `default`."""
    if request.backward and request.before is not None:
        cursor, argument, later = request.before, "before", True
    elif not request.backward and request.after is not None:
        cursor, argument, later = request.after, "after", False
    else:
        return None
    joined, present = _joined_part(statement, ordering, outer)
    probe = far_side(present, kind=kind, ordering=joined, id_column=outer.join_id, request=request)
    if probe is not None and (await connection.execute(probe)).first() is not None:
        return True
    behind = _at_default(
        kind, ordering, id_column, outer.default, cursor, argument, later=later, inclusive=True
    )
    if behind is None:
        return False
    absent = statement.where(*_absent(outer), *behind)
    one: SqlSelect[Any] = absent.with_only_columns(literal_column("1"), maintain_column_froms=True)
    one = one.limit(1)
    return (await connection.execute(one)).first() is not None
