"""Relay nodes loaded through the request's DataLoaders, never across organizations."""

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from operator import attrgetter
from typing import ClassVar, Self, TypeVar, cast

from strawberry import relay

from gateway.context import Info

Node = TypeVar("Node")
Row = TypeVar("Row")


def parse_uuid(value: str) -> uuid.UUID | None:
    """Return `value` as a UUID, or None when it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


async def resolve_by_ids(
    node_ids: Iterable[str],
    load: Callable[[uuid.UUID], Awaitable[Row | None]],
    build: Callable[[Row], Node],
    *,
    required: bool,
    type_name: str,
) -> list[Node | None]:
    """Load nodes for Relay's `node` field, in order, None where missing or foreign."""
    ids = list(node_ids)
    rows = await asyncio.gather(*(_load_or_none(load, node_id) for node_id in ids))
    if required and any(row is None for row in rows):
        missing = [node_id for node_id, row in zip(ids, rows, strict=True) if row is None]
        raise LookupError(f"No {type_name} with id {', '.join(missing)}.")
    return [build(row) if row is not None else None for row in rows]


class LoadedNode(relay.Node):
    """Relay node lookup through the request's DataLoader named by `LOADER`.

    Loaders filter by the caller's organization, so `node(id:)` never returns another
    organization's row.
    """

    LOADER: ClassVar[str]

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        """Load nodes of this type by id, in order."""
        # A dotted name reaches a group of loaders, e.g. `response.statements`.
        load = attrgetter(cls.LOADER)(info.context.loaders).load
        # Each node type defines its own `from_row` for its own table row.
        build = cast(Callable[[object], Self], getattr(cls, "from_row"))  # noqa: B009
        return await resolve_by_ids(
            node_ids, load, build, required=required, type_name=cls.__name__
        )


async def _load_or_none(
    load: Callable[[uuid.UUID], Awaitable[Row | None]], node_id: str
) -> Row | None:
    id_ = parse_uuid(node_id)
    return await load(id_) if id_ is not None else None
