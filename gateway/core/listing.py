"""Lists declared once: node, filter and sort keys; the order input, SQL and field derived.

A `ListSpec` names what a list shows: the node each row becomes (its table, always scoped
to the caller's organization, is the node's declared read), its filter input (each field
declared with the condition it adds, see `gateway.core.filters`) and the keys clients may
sort it by, the first the default. From that one declaration come the `orderBy` input and
its enum, the select with the conditions of the fields a client set, and the list's field
itself, which reads a page as a Relay connection (`first`/`after` forward, `last`/`before`
backward, `nodes` and `totalCount`).

Every sort key is a non-null value (nullable columns are left out or coalesced), so keyset
pagination over (key, id) stays exact.
"""

import dataclasses
import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select, func
from sqlmodel import col

from gateway.core.connection import Connection, fetch_connection
from gateway.core.context import Info
from gateway.core.errors import GatewayError
from gateway.core.filters import Scope, Where, where_of
from gateway.core.inputs import camel
from gateway.core.nodes import LoadedNode
from gateway.core.pagination import (
    Ordering,
    OuterKey,
    PageRequest,
    Preload,
    page_select,
    sort,
)
from gateway.core.reads import read_rows, reading, tenant_column

NodeT = TypeVar("NodeT", bound=LoadedNode)
Listing = tuple[Select[Any], Ordering]
_Param = inspect.Parameter
# Relay's page arguments, in the order every connection field declares them.
PAGE_ARGUMENTS = ("first", "after", "last", "before")


def page_parameters() -> list[inspect.Parameter]:
    """Return `first`, `after`, `last` and `before` as a resolver's keyword parameters.

    None of them has a default value in the schema: `first` would otherwise be given
    together with any `last`; without either a page holds `DEFAULT_PAGE_SIZE` rows.
    """
    return [
        _Param(name, _Param.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in zip(PAGE_ARGUMENTS, (int | None, str | None) * 2, strict=True)
    ]


@strawberry.enum(description="Which way a list runs: ascending or descending.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


class ReplacedTogetherError(GatewayError):
    """A deprecated filter field (or argument) given together with the typed one replacing
    it: the two could disagree, and picking one silently would hide the client's mistake.

    Refused like other bad input, with the `InvalidInput` code and the typed field in
    `extensions.field`, so the client learns which one to keep.
    """

    def __init__(self, replacement: str, deprecated: str) -> None:
        super().__init__(f"Give `{replacement}` or the deprecated `{deprecated}`, not both.")
        self.argument = replacement

    @property
    def extensions(self) -> dict[str, str] | None:
        """The code of refused input, and the typed field to keep."""
        return {"code": "InvalidInput", "field": self.argument}


@dataclasses.dataclass(frozen=True)
class Key:
    """A sort key: its SQL and the Python type of its values; `joined` if it reads the
    table the list joins in."""

    sql: Any
    value_type: type
    joined: bool = False
    outer: OuterKey | None = None
    among: Callable[[Scope], Any] | None = None

    @classmethod
    def time(cls, column: Any) -> "Key":
        """A key on a non-null timestamp column of the list's own table."""
        return cls(col(column), datetime)

    @classmethod
    def outer_joined(
        cls,
        column: Any,
        join_id: Any,
        default: float,
        among: Callable[[Scope], Any] | None = None,
    ) -> "Key":
        """A key on a non-null column of the table the list outer-joins on its id (`join_id`
        the joined row's copy of it), `default` for rows without one; `among`, the scope's
        condition that every row without one meets, through an index (`OuterKey.among`).

        A page sorts as `coalesce(column, default)` did, but is read in two parts an
        index can serve (see `OuterKey`).
        """
        return cls(
            func.coalesce(col(column), default),
            float,
            joined=True,
            outer=OuterKey(col(column), col(join_id), default),
            among=among,
        )


def timestamps(table: Any) -> dict[str, Key]:
    """`CREATED_AT` and `UPDATED_AT`, the keys of a table that keeps both times."""
    return {
        "CREATED_AT": Key.time(table.created_at),
        "UPDATED_AT": Key.time(table.updated_at),
    }


def sort_input(name: str, fields: type[Enum], direction: OrderDirection, description: str) -> Any:
    """Return the `orderBy` input `name`: one of `fields`, and a direction (`direction` first)."""
    namespace = {
        "__annotations__": {"field": fields, "direction": OrderDirection},
        "__module__": __name__,
        "direction": direction,
    }
    return strawberry.input(type(name, (), namespace), description=description)


class Sorting:
    """A list's `orderBy`: its description, the default direction (descending, so newest
    first by a time, unless given), and the keys clients may sort by, each named as clients
    spell it, the first the default."""

    def __init__(
        self, description: str, direction: OrderDirection = OrderDirection.DESC, /, **keys: Key
    ) -> None:
        self.description = description
        self.direction = direction
        self.keys = keys


class ListSpec(Generic[NodeT]):
    """One list of `node`s, narrowed by `filter` and ordered by `sorting`.

    The filter input's name without `Filter` (say `Incident`) names the generated
    `<name>Order` input and `<name>OrderField` enum, the list (`an incident list`, unless
    `noun` says otherwise) and, in kebab case, the cursors it issues. `arguments` are
    conditions the list's field takes as arguments of their own, ahead of `filter`,
    declared like filter fields. `join` adds the table that conditions and keys marked
    `joined` read. `unless_given` maps a filter field to the condition the list holds when
    that field is not given (drills are left out unless `includeDrills` is). `replaced`
    maps a deprecated filter field or argument to the typed one that replaces it (say
    `status` to `state`); a request giving both in the filter, or both as arguments, is
    refused before any row is read.
    """

    def __init__(
        self,
        node: type[NodeT],
        filter: type,
        sorting: Sorting,
        *,
        noun: str | None = None,
        arguments: Mapping[str, tuple[Any, Any]] | None = None,
        join: Callable[[Select[Any], Scope], Select[Any]] | None = None,
        unless_given: Mapping[str, Any] | None = None,
        replaced: Mapping[str, str] | None = None,
    ) -> None:
        name = filter.__name__.removesuffix("Filter")
        self.unless_given = dict(unless_given or {})
        self.replaced = dict(replaced or {})
        self.kind = re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()
        if noun is None:
            noun = f"{'an' if name[0] in 'AEIOU' else 'a'} {self.kind} list"
        self.node = node
        self.table = node.ROWS.table
        self.filter = filter
        self.conditions = [
            (field.name, where_of(field), f"filter.{camel(field.name)}")
            for field in dataclasses.fields(filter)
        ]
        self.arguments = {
            name: (annotation, where_of(declared), camel(name))
            for name, (annotation, declared) in (arguments or {}).items()
        }
        self.keys = sorting.keys
        self.direction = sorting.direction
        self.join = join
        self.id_column = col(getattr(self.table, "id"))  # noqa: B009 - every node's table has one
        self.organization = col(tenant_column(self.table))
        fields: type[Enum] = Enum(f"{name}OrderField", [(key, key.lower()) for key in self.keys])  # type: ignore[misc]
        self.order_field = strawberry.enum(fields, description=f"What {noun} can be sorted by.")
        self.order = sort_input(
            f"{name}Order", self.order_field, sorting.direction, sorting.description
        )

    def ordering(self, order: Any) -> tuple[Ordering, bool]:
        """Return the order asked for (or the default) and whether its key reads the join."""
        name, direction = (
            (order.field.name, order.direction)
            if order is not None
            else (next(iter(self.keys)), self.direction)
        )
        key = self.keys[name]
        descending = direction is OrderDirection.DESC
        return Ordering(name, key.sql, key.value_type, descending, key.outer), key.joined

    def select(
        self, scope: Scope, filter: Any, order: Any, arguments: Mapping[str, Any] | None = None
    ) -> Listing:
        """Return the scope's rows meeting every condition given, with their sort key."""
        self.refuse_replaced_together(filter, arguments or {})
        ordering, joined = self.ordering(order)
        among = self.keys[ordering.name].among
        if ordering.outer is not None and among is not None:
            outer = dataclasses.replace(ordering.outer, among=among(scope))
            ordering = dataclasses.replace(ordering, outer=outer)
        # The field's own arguments first, then the filter's fields, each in declared order.
        chosen: list[tuple[Where, Any, str]] = []
        for name, value in (arguments or {}).items():
            _, where, field = self.arguments[name]
            chosen.append((where, value, field))
        if filter is not None:
            chosen += [
                (where, getattr(filter, name), field) for name, where, field in self.conditions
            ]
        conditions = [self.organization == scope.organization_id]
        conditions += [
            otherwise
            for name, otherwise in self.unless_given.items()
            if getattr(filter, name, None) is None
        ]
        for where, value, field in chosen:
            if value is not None:
                conditions.append(where.condition(value, scope, field))
                joined = joined or where.joined
        statement = page_select(self.table, ordering)
        if joined and self.join is not None:
            statement = self.join(statement, scope)
        return statement.where(*conditions), ordering

    def refuse_replaced_together(self, filter: Any, arguments: Mapping[str, Any]) -> None:
        """Refuse a deprecated field given beside the typed one replacing it, in the
        filter or among the field's own arguments."""
        for deprecated, replacement in self.replaced.items():
            if filter is not None and None not in (
                getattr(filter, deprecated, None),
                getattr(filter, replacement, None),
            ):
                raise ReplacedTogetherError(
                    f"filter.{camel(replacement)}", f"filter.{camel(deprecated)}"
                )
            if None not in (arguments.get(deprecated), arguments.get(replacement)):
                raise ReplacedTogetherError(camel(replacement), camel(deprecated))

    def connection_field(
        self, description: str, *, preload: Callable[[Info], Preload[NodeT] | None] | None = None
    ) -> Any:
        """Return the list's field: one page as a Relay connection, in the order asked for."""
        spec = self

        async def resolve(self: object, info: Info, **given: Any) -> Connection[NodeT]:
            request = PageRequest.of(*(given.pop(name) for name in PAGE_ARGUMENTS))
            listing = spec.select(_scope(info), given.pop("filter"), given.pop("order_by"), given)
            return await fetch_connection(
                info,
                listing,
                spec.node.from_row,
                kind=spec.kind,
                id_column=spec.id_column,
                request=request,
                preload=preload(info) if preload is not None else None,
            )

        pages = [
            *page_parameters(),
            *(
                _Param(name, _Param.KEYWORD_ONLY, default=None, annotation=annotation)
                for name, (annotation, _, _) in self.arguments.items()
            ),
        ]
        returns = Connection[self.node]  # type: ignore[name-defined]
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
            return spec.node.from_rows(rows)

        return self._field(resolve, description, [], list[self.node])  # type: ignore[name-defined]

    def _field(
        self, resolve: Callable[..., Any], description: str, leading: list[_Param], returns: Any
    ) -> Any:
        # Strawberry reads a resolver's arguments and type from its signature, so the
        # generated `orderBy` input and the list's filter and node are declared there.
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
