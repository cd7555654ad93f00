"""`filter` inputs declared with their SQL: each field says what it requires of a row.

A list's filter input is a plain strawberry input whose fields are declared with the helpers
below, e.g. `source: Source | None = equals(mention.source)`. Every field is optional; the
condition of each field a client sets is added to the list's select, and every one must
hold. A field marked `joined` reads the table the list joins in only when needed.
"""

import dataclasses
import uuid
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from sqlalchemy import not_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from gateway.core.inputs import as_utc, check_choice, contains_pattern, require_id
from gateway.core.predicates import TIER_RANKS, tier_rank

# Where a filter field keeps its condition among the field's metadata.
WHERE = "gateway.where"


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


def where_of(declared: Any) -> Where:
    """Return the condition a filter field (or an argument declared alike) carries."""
    found: Where = declared.metadata[WHERE]
    return found


def condition(
    build: Condition,
    description: str | None = None,
    *,
    joined: bool = False,
    deprecation_reason: str | None = None,
) -> Any:
    """Declare an optional filter field that adds `build`'s condition when it is set.

    `deprecation_reason` marks a field a typed one replaces: it keeps working until its
    removal date, and introspection tells clients what to use instead.
    """
    return strawberry.field(
        default=None,
        description=description,
        deprecation_reason=deprecation_reason,
        metadata={WHERE: Where(build, joined)},
    )


def _stored(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def equals(column: Any, description: str | None = None, *, joined: bool = False) -> Any:
    """The column holds the value (an enum's stored value)."""
    return condition(lambda value, _, __: col(column) == _stored(value), description, joined=joined)


def at_or_after(column: Any, description: str | None = None) -> Any:
    """The time is at or after the value; a value without an offset is UTC."""
    return condition(lambda value, _, __: col(column) >= as_utc(value), description)


def before(column: Any, description: str | None = None) -> Any:
    """The time is before the value; a value without an offset is UTC."""
    return condition(lambda value, _, __: col(column) < as_utc(value), description)


def at_least(column: Any, description: str | None = None, *, joined: bool = False) -> Any:
    """The column is at least the value."""
    return condition(lambda value, _, __: col(column) >= value, description, joined=joined)


def containing(column: Any, description: str | None = None) -> Any:
    """The text contains the value, ignoring case."""
    return condition(lambda value, _, __: col(column).ilike(contains_pattern(value)), description)


def flag(column: Any, description: str | None = None, *, joined: bool = False) -> Any:
    """The boolean column is the value."""
    return condition(lambda value, _, __: col(column).is_(value), description, joined=joined)


def present(column: Any, description: str | None = None, *, joined: bool = False) -> Any:
    """true: the column is set; false: it is NULL."""
    return condition(
        lambda value, _, __: col(column).is_not(None) if value else col(column).is_(None),
        description,
        joined=joined,
    )


def holds(predicate: Callable[[Scope], ColumnElement[bool]], description: str | None = None) -> Any:
    """true: the predicate holds; false: it does not."""
    return condition(
        lambda value, scope, _: predicate(scope) if value else not_(predicate(scope)), description
    )


def included(column: Any, description: str | None = None) -> Any:
    """true: rows whose boolean column is set count too; false or unset: they are left out.

    The list leaves them out when the field is not given (`ListSpec(unless_given=...)`).
    """
    return condition(lambda value, _, __: true() if value else col(column).is_(False), description)


def names(
    column: Any, type_name: str, description: str | None = None, *, joined: bool = False
) -> Any:
    """The column holds the row id of a global id that must be of `type_name`."""
    return condition(
        lambda value, _, field: col(column) == require_id(value, type_name, field),
        description,
        joined=joined,
    )


def one_of(
    column: Any,
    allowed: tuple[str, ...],
    description: str | None = None,
    *,
    deprecation_reason: str | None = None,
) -> Any:
    """The column holds the value, which must be one of `allowed`."""
    return condition(
        lambda value, _, field: col(column) == check_choice(value, allowed, field),
        description,
        deprecation_reason=deprecation_reason,
    )


def tier_at_least(column: Any, description: str | None = None) -> Any:
    """The stored tier is the value's or a more severe one."""
    return condition(lambda value, _, __: tier_rank(col(column)) >= TIER_RANKS[value], description)
