"""Lists declared once: table, node, sort keys and filter conditions; the rest is derived.

A `ListSpec` names what a list shows: its table, always scoped to the caller's
organization, the node each row becomes, the keys clients may sort it by (the first is the
default) and the condition behind each field of its filter input. From that one
declaration come the `orderBy` input and its enum, the select with the conditions of the
fields a client set, and the list's field itself, which reads a page as a Relay connection.

Every sort key is a non-null value (nullable columns are left out or coalesced), so keyset
pagination over (key, id) stays exact. Filter conditions all must hold.
"""

import dataclasses
import inspect
import uuid
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select, not_
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import SQLModel, col
from strawberry import relay

from gateway.core.context import Info
from gateway.core.inputs import as_utc, camel, check_choice, contains_pattern, require_id
from gateway.core.nodes import LoadedNode
from gateway.core.pagination import (
    DEFAULT_PAGE_SIZE,
    Ordering,
    Preload,
    fetch_connection,
    page_select,
    sort,
)
from gateway.core.predicates import TIER_RANKS, tier_rank
from gateway.core.reads import read_rows, reading

NodeT = TypeVar("NodeT", bound=LoadedNode)
Listing = tuple[Select[Any], Ordering]
_Param = inspect.Parameter


@strawberry.enum(description="Which way a list runs: ascending or descending.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@dataclasses.dataclass(frozen=True)
class Scope:
    """Whose rows a list reads, and the moment its conditions take as now."""

    organization_id: uuid.UUID
    now: datetime


# A condition from a field's value, the scope, and the field's name as clients write it.
Condition = Callable[[Any, Scope, str], ColumnElement[bool]]


@dataclasses.dataclass(frozen=True)
class Where:
    """What one filter field (or argument) requires; `joined` if it reads the joined table."""

    condition: Condition
    joined: bool = False


@dataclasses.dataclass(frozen=True)
class Key:
    """A sort key: its SQL and the Python type of its values; `joined` as for `Where`."""

    sql: Any
    value_type: type
    joined: bool = False


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def equal(column: Any, *, joined: bool = False) -> Where:
    """The column holds the value (an enum's stored value)."""
    return Where(lambda value, scope, field: column == _stored(value), joined)


def since(column: Any) -> Where:
    """The time is at or after the value; a value without an offset is UTC."""
    return Where(lambda value, scope, field: column >= as_utc(value))


def before(column: Any) -> Where:
    """The time is before the value; a value without an offset is UTC."""
    return Where(lambda value, scope, field: column < as_utc(value))


def at_least(column: Any, *, joined: bool = False) -> Where:
    """The column is at least the value."""
    return Where(lambda value, scope, field: column >= value, joined)


def contains(column: Any) -> Where:
    """The text contains the value, ignoring case."""
    return Where(lambda value, scope, field: column.ilike(contains_pattern(value)))


def is_(column: Any, *, joined: bool = False) -> Where:
    """The boolean column is the value."""
    return Where(lambda value, scope, field: column.is_(value), joined)


def present(column: Any, *, joined: bool = False) -> Where:
    """true: the column is set; false: it is NULL."""
    return Where(
        lambda value, scope, field: column.is_not(None) if value else column.is_(None), joined
    )


def holds(predicate: Callable[[Scope], ColumnElement[bool]]) -> Where:
    """true: the predicate holds; false: it does not."""
    return Where(lambda value, scope, field: predicate(scope) if value else not_(predicate(scope)))


def names(column: Any, type_name: str, *, joined: bool = False) -> Where:
    """The column holds the row id of a global id that must be of `type_name`."""
    return Where(lambda value, scope, field: column == require_id(value, type_name, field), joined)


def one_of(column: Any, allowed: tuple[str, ...]) -> Where:
    """The column holds the value, which must be one of `allowed`."""
    return Where(lambda value, scope, field: column == check_choice(value, allowed, field))


def tier_at_least(column: Any) -> Where:
    """The stored tier is the value's or a more severe one."""
    return Where(lambda value, scope, field: tier_rank(column) >= TIER_RANKS[value])


def sort_input(name: str, fields: type[Enum], direction: OrderDirection, description: str) -> Any:
    """Return the `orderBy` input `name`: one of `fields`, and a direction (`direction` first)."""
    namespace = {
        "__annotations__": {"field": fields, "direction": OrderDirection},
        "__module__": __name__,
        "direction": direction,
    }
    return strawberry.input(type(name, (), namespace), description=description)


class ListSpec(Generic[NodeT]):
    """One list of one table's rows as `node`s, sortable by `keys` and narrowed by `filter`.

    `name` names the generated `<name>Order` input and `<name>OrderField` enum; `where` has
    one condition per field of the `filter` input; `arguments` are conditions the list's
    field takes as arguments of their own, ahead of `filter`. `join` adds the table that
    conditions and keys marked `joined` read.
    """

    def __init__(
        self,
        name: str,
        *,
        kind: str,
        table: type[SQLModel],
        node: type[NodeT],
        keys: Mapping[str, Key],
        direction: OrderDirection,
        filter: type,
        where: Mapping[str, Where],
        noun: str,
        description: str,
        arguments: Mapping[str, tuple[Any, Where]] | None = None,
        join: Callable[[Select[Any], Scope], Select[Any]] | None = None,
    ) -> None:
        declared = {field.name for field in dataclasses.fields(filter)}
        if declared != set(where):
            raise TypeError(f"{name} list: conditions for {sorted(where)}, filter has {declared}")
        self.kind = kind
        self.table = table
        self.node = node
        self.keys = dict(keys)
        self.direction = direction
        self.filter = filter
        self.where = dict(where)
        self.arguments = dict(arguments or {})
        self.join = join
        self.id_column = col(getattr(table, "id"))  # noqa: B009 - every listed table has one
        self.organization = col(getattr(table, "organization_id"))  # noqa: B009
        fields: type[Enum] = Enum(f"{name}OrderField", [(key, key.lower()) for key in keys])  # type: ignore[misc]
        self.order_field = strawberry.enum(fields, description=f"What {noun} can be sorted by.")
        self.order = sort_input(f"{name}Order", self.order_field, direction, description)

    def ordering(self, order: Any) -> tuple[Ordering, bool]:
        """Return the order asked for (or the default) and whether its key reads the join."""
        name, direction = (
            (order.field.name, order.direction)
            if order is not None
            else (next(iter(self.keys)), self.direction)
        )
        key = self.keys[name]
        return Ordering(name, key.sql, key.value_type, direction is OrderDirection.DESC), key.joined

    def select(
        self, scope: Scope, filter: Any, order: Any, arguments: Mapping[str, Any] | None = None
    ) -> Listing:
        """Return the scope's rows meeting every condition given, with their sort key."""
        ordering, joined = self.ordering(order)
        chosen = [
            (self.arguments[name][1], value, camel(name))
            for name, value in (arguments or {}).items()
        ]
        if filter is not None:
            chosen += [
                (self.where[field.name], getattr(filter, field.name), f"filter.{camel(field.name)}")
                for field in dataclasses.fields(filter)
            ]
        conditions = [self.organization == scope.organization_id]
        for where, value, field in chosen:
            if value is not None:
                conditions.append(where.condition(value, scope, field))
                joined = joined or where.joined
        statement = page_select(self.table, ordering)
        if joined and self.join is not None:
            statement = self.join(statement, scope)
        return statement.where(*conditions), ordering

    def connection_field(
        self, description: str, *, preload: Callable[[Info], Preload[NodeT] | None] | None = None
    ) -> Any:
        """Return the list's field: one page as a Relay connection, in the order asked for."""
        spec = self

        async def resolve(self: object, info: Info, **given: Any) -> relay.Connection[NodeT]:
            first, after = given.pop("first"), given.pop("after")
            listing = spec.select(_scope(info), given.pop("filter"), given.pop("order_by"), given)
            return await fetch_connection(
                info.context.sessions,
                listing,
                relay.Connection[spec.node],  # type: ignore[name-defined]
                spec.node.from_row,
                kind=spec.kind,
                id_column=spec.id_column,
                first=first,
                after=after,
                preload=preload(info) if preload is not None else None,
            )

        pages = [
            _Param("first", _Param.KEYWORD_ONLY, default=DEFAULT_PAGE_SIZE, annotation=int | None),
            _Param("after", _Param.KEYWORD_ONLY, default=None, annotation=str | None),
            *(
                _Param(name, _Param.KEYWORD_ONLY, default=None, annotation=annotation)
                for name, (annotation, _) in self.arguments.items()
            ),
        ]
        returns = relay.Connection[self.node]  # type: ignore[name-defined]
        return self._field(resolve, description, pages, returns)

    def list_field(self, description: str, *, unordered: Sequence[Any]) -> Any:
        """Return the list's field as a plain list, by `unordered` unless `orderBy` is given."""
        spec = self

        async def resolve(self: object, info: Info, **given: Any) -> list[NodeT]:
            order = given["order_by"]
            statement, ordering = spec.select(_scope(info), given["filter"], order)
            if order is None:
                statement = statement.order_by(*unordered)
            else:
                statement = sort(statement, ordering, spec.id_column)
            async with reading(info.context.sessions) as connection:
                rows = await read_rows(connection, statement)
            return [spec.node.from_row(row) for row in rows]

        return self._field(resolve, description, [], list[self.node])  # type: ignore[name-defined]

    def _field(
        self, resolve: Callable[..., Any], description: str, leading: list[_Param], returns: Any
    ) -> Any:
        resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                _Param("self", _Param.POSITIONAL_OR_KEYWORD),
                _Param("info", _Param.POSITIONAL_OR_KEYWORD, annotation=Info),
                *leading,
                _Param("filter", _Param.KEYWORD_ONLY, default=None, annotation=self.filter | None),
                _Param("order_by", _Param.KEYWORD_ONLY, default=None, annotation=self.order | None),
            ],
            return_annotation=returns,
        )
        return strawberry.field(resolver=resolve, description=description)


def _scope(info: Info) -> Scope:
    return Scope(info.context.principal.organization_id, datetime.now(UTC))
