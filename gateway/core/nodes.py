"""Objects built from one row and loaded through the request's DataLoaders, never across
organizations; Relay's `node(id:)` field.

A type names its read once (`ROWS`, a `ById` declared beside its domain's other reads) and
gets `load` and `load_many`; another domain reaches it through these, never through the
read itself. A type that must not be imported where it is named (a back-reference that
would close an import cycle) is loaded by its GraphQL name instead (`load_by_name`).
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import asyncio
import dataclasses
import uuid
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Self, TypeVar

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.inputs import parse_uuid
from gateway.core.reads import ById, Children
from gateway.core.rows import FromRow

Built = TypeVar("Built", bound=FromRow)


async def children_of(
    info: Info, rows: Children[Any], parent: uuid.UUID, built: type[Built]
) -> list[Built]:
    """Load the rows under `parent` through the request's DataLoader, each built as `built`."""
    return built.from_rows(await info.context.loaders.of(rows).load(parent))


class Loaded(FromRow):
    """A type built from one row of the declared read `ROWS`."""

    ROWS: ClassVar[ById[Any]]

    @classmethod
    async def load(cls, info: Info, row_id: uuid.UUID | None) -> Self | None:
        """Load one through the request's DataLoader; None when absent or another tenant's."""
        if row_id is None:
            return None
        row = await info.context.loaders.of(cls.ROWS).load(row_id)
        return cls.from_row(row) if row is not None else None

    @classmethod
    async def load_many(cls, info: Info, row_ids: Sequence[uuid.UUID]) -> list[Self]:
        """Load several in the order given, leaving out the absent and another tenant's."""
        rows = await info.context.loaders.of(cls.ROWS).load_many(row_ids)
        return cls.from_rows([row for row in rows if row is not None])

    @classmethod
    async def require(cls, info: Info, row_id: uuid.UUID) -> Self:
        """Load one the database guarantees exists (a foreign key points at it)."""
        found = await cls.load(info, row_id)
        if found is None:
            raise LookupError(f"{cls.__name__} {row_id} cannot be read.")
        return found


@dataclasses.dataclass(kw_only=True)
class StoredNode(FromRow, relay.Node):
    """A Relay node built from one stored row: a global `id` for Relay, and `databaseId`
    (the row's UUID) so a client can correlate with the REST ingest API."""

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID


class LoadedNode(Loaded, StoredNode):
    """A Relay node looked up through the request's DataLoader of `ROWS`.

    Loaders filter by the caller's organization, so `node(id:)` never returns another
    organization's row.
    """

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Load nodes of this type by id, in order, None where missing or foreign."""
        given = list(node_ids)
        nodes = await asyncio.gather(*(cls.load(info, parse_uuid(id_)) for id_ in given))
        if required and any(node is None for node in nodes):
            missing = [id_ for id_, node in zip(given, nodes, strict=True) if node is None]
            raise LookupError(f"No {cls.__name__} with id {', '.join(missing)}.")
        return list(nodes)


async def load_by_name(info: Info, type_name: str, row_id: uuid.UUID) -> relay.Node | None:
    """Load the node of GraphQL type `type_name` with this row id, as `node(id:)` would."""
    return await relay.GlobalID(type_name, str(row_id)).resolve_node(info)


@strawberry.type
class NodeQuery:
    # A plain resolver rather than `relay.node()`, whose field object can serve one schema only.
    @strawberry.field(description="Fetch any object by its global id; null if not yours.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        try:
            node_type = id.resolve_type(info)
        except relay.GlobalIDValueError:
            return None
        if not issubclass(node_type, relay.Node):
            return None
        found: relay.Node | None = await id.resolve_node(info)
        return found
