"""Types built from one stored row: each field takes the row's column of the same name.

A type names only the columns it converts (`CONVERTED`: a stored enum value to its enum, a
JSON document to the JSON scalar); every other field takes the row's column of its name,
`id` and `databaseId` the row's id. Fields with a default (values a page hands over later)
keep it. The row may be an ORM object or a plain row of the table's columns.
"""

import dataclasses
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, ClassVar, Self, TypeVar

Built = TypeVar("Built")
Converter = Callable[[Any], Any]
# A node's `id` and `databaseId` are both its row's `id`.
_ROW_ID_FIELDS = frozenset({"id", "database_id"})
_SOURCES: dict[type, tuple[tuple[str, str], ...]] = {}


def _sources(built: type) -> tuple[tuple[str, str], ...]:
    """Each field of `built` a row fills, with the column it comes from."""
    sources = _SOURCES.get(built)
    if sources is None:
        sources = _SOURCES[built] = tuple(
            (field.name, "id" if field.name in _ROW_ID_FIELDS else field.name)
            for field in dataclasses.fields(built)
            if field.init
            and field.default is dataclasses.MISSING
            and field.default_factory is dataclasses.MISSING
        )
    return sources


def _reader(row: Any) -> Callable[[str], Any]:
    """Return what reads one column of `row` by name.

    A plain row is read through its mapping: a key lookup, several times cheaper than the
    row's attribute lookup, which matters at a page's hundreds of rows. An ORM object has
    no mapping and is read by attribute.
    """
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:
        read: Callable[[str], Any] = mapping.__getitem__
        return read
    return partial(getattr, row)


def from_columns(built: type[Built], row: Any, /, **given: Any) -> Built:
    """Build `built` from the row's columns of the same names, those `given` as given."""
    return _build(built, _reader(row), given)


def _build(built: type[Built], read: Callable[[str], Any], given: dict[str, Any]) -> Built:
    values = {name: read(column) for name, column in _sources(built) if name not in given}
    return built(**values, **given)


def optional(convert: Converter) -> Converter:
    """Convert a stored value that may be missing: NULL or empty stays None."""
    return lambda value: convert(value) if value else None


def each(convert: Converter) -> Converter:
    """Convert every item of a stored list."""
    return lambda values: [convert(value) for value in values]


def converted(**converters: Converter) -> Mapping[str, Converter]:
    """Name the columns a type converts, and how: `converted(tier=Tier)`."""
    return converters


class FromRow:
    """A type built from one stored row, its `CONVERTED` columns converted."""

    CONVERTED: ClassVar[Mapping[str, Converter]] = {}

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """Build from a stored row."""
        read = _reader(row)
        given = {name: convert(read(name)) for name, convert in cls.CONVERTED.items()}
        return _build(cls, read, given)


@dataclasses.dataclass(kw_only=True)
class Stored(FromRow):
    """A type built from one stored row: its `databaseId` is the row's id."""

    database_id: uuid.UUID
