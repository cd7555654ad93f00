"""Types built from stored rows are the same objects their dataclass `__init__` would make.

`FromRow.from_row` and `from_rows` make a type's instance without calling its `__init__`
(a page builds hundreds per request); every way they do it must leave exactly the
attributes `__init__` leaves, for every type the gateway builds from rows.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import dataclasses
import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from sqlalchemy.engine.result import result_tuple

from gateway.core.rows import FromRow, _sources, build_rows, converted, each, optional
from gateway.schema import build_schema
from gateway.tasks.types import ResponseTask
from libs.contracts.enums import TaskStatus, TeamRole

WHEN = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def rows_of(columns: list[str], *values: tuple[Any, ...]) -> list[Any]:
    """Plain rows, as a result of `columns` gives them."""
    make = result_tuple(columns)
    return [make(row) for row in values]


@strawberry.type
class Shaped(FromRow):
    CONVERTED = converted(level=lambda stored: f"level {stored}")

    title: str
    level: str
    tags: list[str] = dataclasses.field(default_factory=list)
    note: str | None = None
    later: strawberry.Private[str] = "unset"


@strawberry.type
class Checked(FromRow):
    title: str
    seen: strawberry.Private[list[str]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen.append(self.title)


def task_row_values(index: int) -> tuple[Any, ...]:
    return (
        uuid.UUID(int=index),
        uuid.UUID(int=1000 + index),
        f"任务{index}",
        "acknowledge",
        WHEN,
        TaskStatus.OPEN.value if index % 2 else TaskStatus.DONE.value,
        None,
        None,
        TeamRole.MONITOR.value if index % 2 else "",
        None,
        None,
        None,
        index,
    )


TASK_COLUMNS = [
    "id",
    "incident_id",
    "title",
    "kind",
    "due_at",
    "status",
    "completed_at",
    "completed_by",
    "role",
    "channel",
    "breached_at",
    "escalated_to",
    "position",
]


def test_a_page_of_rows_builds_what_init_builds_row_by_row() -> None:
    rows = rows_of(TASK_COLUMNS, *(task_row_values(index) for index in range(5)))
    built = ResponseTask.from_rows(rows)
    for row, task in zip(rows, built, strict=True):
        by_init = ResponseTask(
            id=row.id,
            database_id=row.id,
            title=row.title,
            kind=row.kind,
            due_at=row.due_at,
            status=TaskStatus(row.status),
            completed_at=None,
            completed_by=None,
            role=TeamRole(row.role) if row.role else None,
            channel=None,
            breached_at=None,
            escalated_to=None,
            incident_id=row.incident_id,
        )
        assert task.__dict__ == by_init.__dict__
        assert type(task) is ResponseTask
        assert ResponseTask.from_row(row).__dict__ == by_init.__dict__


def test_defaults_factories_and_converters_are_as_init_leaves_them() -> None:
    rows = rows_of(["title", "level", "extra"], ("甲", 1, "x"), ("乙", 2, "y"))
    for one, row in zip(Shaped.from_rows(rows), rows, strict=True):
        assert one.__dict__ == Shaped(title=row.title, level=f"level {row.level}").__dict__
        assert Shaped.from_row(row).__dict__ == one.__dict__
    first, second = Shaped.from_rows(rows)
    first.tags.append("mine")
    assert second.tags == [], "each instance has a list of its own"


def test_a_type_with_post_init_is_built_through_it() -> None:
    rows = rows_of(["title"], ("甲",), ("乙",))
    assert [one.seen for one in Checked.from_rows(rows)] == [["甲"], ["乙"]]
    assert Checked.from_row(rows[0]).seen == ["甲"]


def test_a_missing_column_fails_as_from_row_does() -> None:
    rows = rows_of(["title"], ("甲",))
    with pytest.raises(KeyError) as batch:
        Shaped.from_rows(rows)
    with pytest.raises(KeyError) as single:
        Shaped.from_row(rows[0])
    assert str(batch.value) == str(single.value)


def test_build_rows_takes_the_batch_only_for_a_from_row_type() -> None:
    rows = rows_of(["title", "level"], ("甲", 1))
    assert [one.level for one in build_rows(Shaped.from_row, rows)] == ["level 1"]
    assert build_rows(lambda row: row.title * 2, rows) == ["甲甲"]


def _row_types() -> list[type[FromRow]]:
    """Every type the gateway builds from rows the way `FromRow` does."""
    build_schema()  # imports every domain's types
    found: list[type[FromRow]] = []
    pending: list[type[FromRow]] = [FromRow]
    while pending:
        kind = pending.pop()
        pending.extend(kind.__subclasses__())
        own = kind.from_row.__func__ is FromRow.from_row.__func__  # type: ignore[attr-defined]
        ours = kind.__module__.startswith("gateway.") and "tests" not in kind.__module__
        if own and ours and dataclasses.is_dataclass(kind):
            found.append(kind)
    return found


@pytest.mark.parametrize("kind", _row_types(), ids=lambda kind: kind.__name__)
def test_every_row_type_builds_as_its_init_would(kind: type[FromRow]) -> None:
    """Sentinel values (the converters are replaced by a marker of their own) in every
    column: what `from_rows` sets must be exactly what `__init__` sets."""
    sources = _sources(kind)
    columns = sorted({column for _, column in sources} | set(kind.CONVERTED))
    values = tuple(object() for _ in columns)
    rows = rows_of(columns, values)
    stored = dict(zip(columns, values, strict=True))

    def marked(name: str) -> Any:
        return lambda value: ("converted", name, value)

    original = kind.CONVERTED
    kind.CONVERTED = {name: marked(name) for name in original}
    try:
        (built,) = kind.from_rows(rows)
        arguments = {name: stored[column] for name, column in sources}
        arguments.update({name: marked(name)(stored[name]) for name in original})
        assert built.__dict__ == kind(**arguments).__dict__
    finally:
        kind.CONVERTED = original


def test_enum_converters_return_what_the_enum_class_returns() -> None:
    class Level(enum.Enum):
        LOW = "low"
        HIGH = "high"
        ALSO_HIGH = "high"  # an alias: the lookup must give the canonical member

        @classmethod
        def _missing_(cls, value: object) -> "Level | None":
            return cls.LOW if value == "lowish" else None

    convert = converted(level=Level)["level"]
    for stored in ("low", "high", "lowish"):
        assert convert(stored) is Level(stored)
    with pytest.raises(ValueError) as ours:
        convert("none")
    with pytest.raises(ValueError) as theirs:
        Level("none")
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(ValueError, match="is not a valid"):
        convert(["unhashable"])
    assert optional(Level)("") is None and optional(Level)("high") is Level.HIGH
    assert each(Level)(["low", "lowish"]) == [Level.LOW, Level.LOW]
