"""Types built from one stored row: each field takes the row's column of the same name.

A type names only the columns it converts (`CONVERTED`: a stored enum value to its enum, a
JSON document to the JSON scalar); every other field takes the row's column of its name,
`id` and `databaseId` the row's id. Fields with a default (values a page hands over later)
keep it. The row may be an ORM object or a plain row of the table's columns.

A page builds hundreds of these per request, so the object is made the way the dataclass
`__init__` would make it, without the call: the fields a row fills and the declared
defaults written into a new instance's `__dict__` (`_made`). A type with a `__post_init__`
is built through `__init__`. `gateway/tests/test_rows.py` holds every type built this way
to the same attributes `__init__` gives.
"""

import dataclasses
import uuid
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from functools import partial
from operator import itemgetter
from typing import Any, ClassVar, Self, TypeVar, cast

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
    values.update(given)
    return _made(built, values)


@dataclasses.dataclass(frozen=True)
class _Defaults:
    """What `__init__` sets besides its arguments: declared defaults and default factories;
    `call_init` when the type must be built through `__init__` after all."""

    values: dict[str, Any]
    factories: tuple[tuple[str, Callable[[], Any]], ...]
    call_init: bool


_DEFAULTS: dict[type, _Defaults] = {}


def _defaults(built: type) -> _Defaults:
    known = _DEFAULTS.get(built)
    if known is None:
        fields = [field for field in dataclasses.fields(built) if field.init]
        known = _DEFAULTS[built] = _Defaults(
            values={
                field.name: field.default
                for field in fields
                if field.default is not dataclasses.MISSING
            },
            factories=tuple(
                (field.name, field.default_factory)
                for field in fields
                if field.default_factory is not dataclasses.MISSING
            ),
            call_init=hasattr(built, "__post_init__"),
        )
    return known


def _made(built: type[Built], values: dict[str, Any]) -> Built:
    """Return `built(**values)`, made without calling the dataclass `__init__` (module)."""
    defaults = _defaults(built)
    if defaults.call_init:
        return built(**values)
    made: Built = object.__new__(built)
    attributes = made.__dict__
    attributes.update(defaults.values)
    for name, factory in defaults.factories:
        attributes[name] = factory()
    attributes.update(values)
    return made


def _member(convert: Converter) -> Converter:
    """An enum class converts a stored value through its own lookup table: the same member
    `convert(value)` returns, several times cheaper than calling the class, which matters
    at a page's hundreds of rows. Anything else is kept as it is."""
    if not (isinstance(convert, type) and issubclass(convert, Enum)):
        return convert
    members: dict[Any, Any] = convert._value2member_map_

    def member(value: Any) -> Any:
        try:
            return members[value]
        except (KeyError, TypeError):  # an alias, or a value it refuses: as the class does
            return convert(value)

    return member


def optional(convert: Converter) -> Converter:
    """Convert a stored value that may be missing: NULL or empty stays None."""
    convert = _member(convert)
    return lambda value: convert(value) if value else None


def each(convert: Converter) -> Converter:
    """Convert every item of a stored list."""
    convert = _member(convert)
    return lambda values: [convert(value) for value in values]


def converted(**converters: Converter) -> Mapping[str, Converter]:
    """Name the columns a type converts, and how: `converted(tier=Tier)`."""
    return {name: _member(convert) for name, convert in converters.items()}


class FromRow:
    """A type built from one stored row, its `CONVERTED` columns converted."""

    CONVERTED: ClassVar[Mapping[str, Converter]] = {}

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """Build from a stored row."""
        read = _reader(row)
        given = {name: convert(read(name)) for name, convert in cls.CONVERTED.items()}
        return _build(cls, read, given)

    @classmethod
    def from_rows(cls, rows: Sequence[Any]) -> list[Self]:
        """Build one from each row, as `from_row` does; the rows come from one result.

        Rows of one result share their columns, so where the type builds as `FromRow` does
        and the rows are plain rows, where each field's column sits is looked up once and
        every row is read by position in one C-level step (`itemgetter`): a page's rows
        cost about half of what they do one by one.
        """
        first = rows[0] if rows else None
        fields = getattr(first, "_fields", None)
        if cls.from_row.__func__ is not _FROM_ROW or fields is None:  # type: ignore[attr-defined]
            return [cls.from_row(row) for row in rows]
        sources = _sources(cls)
        try:
            read = itemgetter(*(fields.index(column) for _, column in sources))
        except ValueError:  # a column the type needs is missing: fail as `from_row` does
            return [cls.from_row(row) for row in rows]
        names = tuple(name for name, _ in sources)
        converters = tuple(cls.CONVERTED.items())
        if len(names) < 2:  # `itemgetter` of one position gives the value, not a tuple
            return [cls.from_row(row) for row in rows]
        built = []
        for row in rows:
            values = dict(zip(names, read(row), strict=True))
            for name, convert in converters:
                values[name] = convert(values[name])
            built.append(_made(cls, values))
        return built


_FROM_ROW = FromRow.from_row.__func__  # type: ignore[attr-defined]


def build_rows(build: Callable[[Any], Built], rows: Sequence[Any]) -> list[Built]:
    """Return `[build(row) for row in rows]`; when `build` is a `FromRow` type's
    `from_row`, through its `from_rows`, which builds a page's rows at once."""
    owner = getattr(build, "__self__", None)
    if isinstance(owner, type) and issubclass(owner, FromRow):
        return cast(list[Built], owner.from_rows(rows))
    return [build(row) for row in rows]


@dataclasses.dataclass(kw_only=True)
class Stored(FromRow):
    """A type built from one stored row: its `databaseId` is the row's id."""

    database_id: uuid.UUID
