"""The gateway's executor answers plain fields directly and must answer exactly as the stock one.

Each query runs on two schemas over the same types and the same objects: one with
`GatewayExecutor`, one with strawberry's stock executor. Data, error messages, paths and
the propagation of a null to its nearest nullable parent must all be identical, for the
ordinary case and for every way a plain field can go wrong.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import dataclasses
import enum
import uuid
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import strawberry
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from gateway.core.execution import GatewayExecutor, answered_by, direct_answer
from gateway.core.nodes import StoredNode

WHEN = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


@strawberry.enum
class Level(enum.Enum):
    LOW = "low"
    HIGH = "high"


@strawberry.type
class Task(StoredNode):
    title: str
    due_at: datetime
    level: Level
    note: str | None
    tags: list[str]
    maybe_tags: list[str | None] | None


@strawberry.type
class Custom(relay.Node):
    """A node that says its own id: the direct answer must leave it to its resolver."""

    code: relay.NodeID[str]

    @classmethod
    def resolve_id(cls, root: "Custom", *, info: Any) -> str:
        return f"custom-{root.code}"


def first_key(arguments: dict[str, Any]) -> int:
    """The key of `firstTasks` answers handed over: its size, when a page reads it ahead."""
    first = arguments["first"]
    if first < 0:
        raise ValueError("not a size a page reads ahead")
    return int(first)


# Every call of `firstTasks`'s resolver, by incident title and size.
FIRST_TASKS_CALLS: list[tuple[str, int]] = []


@strawberry.type
class Incident(StoredNode):
    title: str
    level: Level
    known_tasks: strawberry.Private[list[Task] | UnsetType] = UNSET
    known_first: strawberry.Private[dict[int, list[Task]] | UnsetType] = UNSET

    @strawberry.field(graphql_type=list[Task])
    @answered_by("known_first", key=first_key)
    def first_tasks(self, first: int) -> list[Task]:
        FIRST_TASKS_CALLS.append((self.title, first))
        if first < 0:
            raise ValueError("first must not be negative")
        if not isinstance(self.known_first, UnsetType) and first in self.known_first:
            return self.known_first[first]
        return TASKS[self.title][:first]

    @strawberry.field
    def tasks(self) -> list[Task]:
        return TASKS[self.title]

    @strawberry.field(graphql_type=list[Task])
    @answered_by("known_tasks")
    def preloaded(self) -> list[Task] | Awaitable[list[Task]]:
        if not isinstance(self.known_tasks, UnsetType):
            return self.known_tasks
        return self._later_tasks()

    async def _later_tasks(self) -> list[Task]:
        return TASKS[self.title]

    @strawberry.field
    def loose_tasks(self) -> list[Task | None]:
        loose: list[Task | None] = [*TASKS[self.title]]
        return loose

    @strawberry.field
    def custom(self) -> Custom:
        return Custom(code=self.title)

    @strawberry.field
    async def later(self) -> str:
        return f"later {self.title}"


def task(**changed: Any) -> Task:
    """A task with ordinary values, some changed."""
    values: dict[str, Any] = {
        "id": uuid.uuid5(uuid.NAMESPACE_URL, repr(sorted(changed.items()))),
        "database_id": uuid.UUID(int=7),
        "title": "acknowledge",
        "due_at": WHEN,
        "level": Level.HIGH,
        "note": None,
        "tags": ["a", "b"],
        "maybe_tags": ["a", None],
    }
    values.update(changed)
    return Task(**values)


def broken(label: str, **changed: Any) -> Task:
    """A task whose attributes hold what its type forbids (as a bad row would)."""
    made = task(title=label)
    for name, value in changed.items():
        object.__setattr__(made, name, value)
    return made


TASKS: dict[str, list[Task]] = {
    "ordinary": [task(), task(title="confirm", level=Level.LOW, note="n", tags=[])],
    "null title": [task(), broken("x", title=None)],
    "null tag": [broken("y", tags=["a", None])],
    "null tags": [broken("z", tags=None)],
    "bad level": [broken("w", level="not a level")],
    "bad time": [broken("v", due_at="yesterday")],
    "missing": [broken("u")],
    "nullable": [task(maybe_tags=None, note=None)],
}
# An attribute gone altogether: the stock resolver's AttributeError, at the field.
del TASKS["missing"][0].__dict__["note"]


def incident(title: str) -> Incident:
    """An incident; every other one has its tasks handed over, as a page does."""
    made = Incident(
        id=uuid.uuid5(uuid.NAMESPACE_URL, title),
        database_id=uuid.uuid5(uuid.NAMESPACE_DNS, title),
        title=title,
        level=Level.LOW,
    )
    if list(TASKS).index(title) % 2 == 0:
        made.known_tasks = TASKS[title]
        made.known_first = {1: TASKS[title][:1]}
    return made


@strawberry.type
class Query:
    @strawberry.field
    def incidents(self) -> list[Incident | None]:
        return [incident(title) for title in TASKS]

    @strawberry.field
    def task_or_null(self) -> Task | None:
        return broken("null", title=None)


class Resolving(SchemaExtension):
    """A `resolve` hook: every field must pass through it, plain or not."""

    seen: list[str] = []  # noqa: RUF012 - shared on purpose, read by the test

    def resolve(self, _next: Any, root: Any, info: Any, *args: Any, **kwargs: Any) -> Any:
        Resolving.seen.append(info.field_name)
        return _next(root, info, *args, **kwargs)


def schemas(**options: Any) -> tuple[strawberry.Schema, strawberry.Schema]:
    """The same types with the gateway's executor and with the stock one."""
    gateway = strawberry.Schema(query=Query, execution_context_class=GatewayExecutor, **options)
    return gateway, strawberry.Schema(query=Query, **options)


def outcome(result: ExecutionResult | GraphQLExecutionResult) -> tuple[Any, list[Any]]:
    """The data and every error with its message, path and locations."""
    errors = sorted(
        (str(e.path), e.message, [(loc.line, loc.column) for loc in e.locations or []])
        for e in result.errors or []
    )
    return result.data, errors


PAGE = """
query {
  incidents {
    id databaseId title level
    custom { id }
    later
    tasks { id databaseId title dueAt level note tags maybeTags renamed: title title }
    ... on Incident { tasks { __typename level } }
  }
}
"""


@pytest.mark.parametrize(
    "query",
    [
        PAGE,
        "query { taskOrNull { id title } }",
        "query { taskOrNull { id note } }",
        "query { incidents { tasks { ...T } } } fragment T on Task { note tags title }",
        "query { incidents { looseTasks { id title dueAt level note tags maybeTags } } }",
        "query { incidents { title preloaded { id title dueAt level note tags } } }",
        "query { incidents { preloaded { id __typename title } looseTasks { title } } }",
        "query @experimental_disableErrorPropagation { incidents { tasks { title } } }",
        "query { incidents { firstTasks(first: 1) { id title dueAt level note tags } } }",
        "query { incidents { firstTasks(first: 2) { title } one: firstTasks(first: 1) { id } } }",
        "query { incidents { firstTasks(first: -1) { title } } }",
    ],
)
async def test_answers_exactly_as_the_stock_executor(query: str) -> None:
    gateway, stock = schemas()
    ours, theirs = await gateway.execute(query), await stock.execute(query)
    assert outcome(ours) == outcome(theirs)


async def test_a_page_without_faults_has_no_errors_and_every_value() -> None:
    gateway, _ = schemas()
    result = await gateway.execute(
        "query { incidents { id title tasks { id title dueAt level tags maybeTags } } }"
    )
    assert result.data is not None
    assert result.errors, "the broken tasks must still fail"
    ordinary = result.data["incidents"][0]
    assert ordinary["id"] == str(relay.GlobalID("Incident", str(incident("ordinary").id)))
    assert ordinary["tasks"][1] == {
        "id": str(relay.GlobalID("Task", str(TASKS["ordinary"][1].id))),
        "title": "confirm",
        "dueAt": WHEN.isoformat(),
        "level": "LOW",
        "tags": [],
        "maybeTags": ["a", None],
    }


async def test_arguments_answered_ahead_skip_the_resolver_and_others_call_it() -> None:
    gateway, stock = schemas()
    query = "query($n: Int!) { incidents { title firstTasks(first: $n) { title } } }"
    FIRST_TASKS_CALLS.clear()
    ours = await gateway.execute(query, variable_values={"n": 1})
    called = list(FIRST_TASKS_CALLS)
    theirs = await stock.execute(query, variable_values={"n": 1})
    assert outcome(ours) == outcome(theirs)
    # The incidents holding an answer for `first: 1` were answered without a call.
    handed = {title for index, title in enumerate(TASKS) if index % 2 == 0}
    assert called == [(title, 1) for title in TASKS if title not in handed]

    FIRST_TASKS_CALLS.clear()
    await gateway.execute(query, variable_values={"n": 2})
    assert [(title, 2) for title in TASKS] == FIRST_TASKS_CALLS


def plain_fields(schema: strawberry.Schema, type_name: str) -> Iterator[str]:
    graphql_type = schema._schema.get_type(type_name)  # the compiled schema
    for name, field in graphql_type.fields.items():  # type: ignore[union-attr]
        if direct_answer(field) is not None:
            yield name


def test_only_reads_of_attributes_and_strawberry_ids_are_answered_directly() -> None:
    gateway, _ = schemas()
    assert set(plain_fields(gateway, "Task")) == {
        "id",
        "databaseId",
        "title",
        "dueAt",
        "level",
        "note",
        "tags",
        "maybeTags",
    }
    # Resolvers run as written; a node's own `resolve_id` is honoured at run time.
    assert set(plain_fields(gateway, "Incident")) == {"id", "databaseId", "title", "level"}


async def test_a_resolve_hook_still_sees_every_field() -> None:
    gateway, stock = schemas(extensions=[Resolving])
    Resolving.seen.clear()
    ours = await gateway.execute(PAGE)
    seen_by_ours = list(Resolving.seen)
    Resolving.seen.clear()
    theirs = await stock.execute(PAGE)
    assert outcome(ours) == outcome(theirs)
    # The same fields in the same order: the hook saw the plain ones too.
    assert seen_by_ours == Resolving.seen
    assert {"id", "databaseId", "title", "dueAt", "tags"} <= set(seen_by_ours)


def test_task_fields_are_dataclass_fields() -> None:
    """The broken tasks above bypass `__init__`; the fields they change must exist."""
    names = {field.name for field in dataclasses.fields(Task)}
    assert {"title", "tags", "level", "due_at", "note"} <= names
