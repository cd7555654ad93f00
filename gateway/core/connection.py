"""The Relay connection every list answers: edges, `nodes`, page info and `totalCount`.

`Connection[Mention]` is named `MentionConnection` in the schema and its edges
`MentionEdge`, the names strawberry's own connection gave them, so clients see the same
types with more fields: `nodes` (the page's nodes without cursors) and `totalCount` with
`totalCountIsExact` (see `gateway.core.counting`).

`fetch_connection` reads a page of a declared list on one pooled connection, with what its
nodes will show (`Preload`); the count, when asked for, runs on a connection of its own.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.context import Info
from gateway.core.counting import Counted, TotalCount, count_rows
from gateway.core.execution import answered_by
from gateway.core.pagination import (
    Ordering,
    Page,
    PageRequest,
    Preload,
    fetch_ordered_page,
)
from gateway.core.reads import reading
from gateway.core.rows import build_rows
from gateway.core.selection import page_info_fields

Item = TypeVar("Item")


@strawberry.type(description="Information to aid in pagination.")
class PageInfo:
    """Relay's page info; its cursors are encoded only when asked for."""

    has_next_page: bool = strawberry.field(
        description="When paginating forwards, are there more items?"
    )
    has_previous_page: bool = strawberry.field(
        description="When paginating backwards, are there more items?"
    )
    page: strawberry.Private[Page[Any]]

    @strawberry.field(description="When paginating backwards, the cursor to continue.")
    def start_cursor(self) -> str | None:
        return self.page.cursor(0) if self.page.rows else None

    @strawberry.field(description="When paginating forwards, the cursor to continue.")
    def end_cursor(self) -> str | None:
        return self.page.cursor(len(self.page.rows) - 1) if self.page.rows else None


def _edge_cursor(root: "Edge[Any]") -> str:
    return root.page.cursor(root.index)


@strawberry.type(description="An edge in a connection.")
class Edge(Generic[Item]):
    """One node and its cursor, encoded only when asked for."""

    cursor: str = strawberry.field(
        resolver=_edge_cursor, description="A cursor for use in pagination"
    )
    node: Item = strawberry.field(description="The item at the end of the edge")
    page: strawberry.Private[Page[Any]]
    index: strawberry.Private[int]


def _edges(root: "Connection[Item]") -> list[Edge[Item]]:
    page = root.page_info.page
    return [Edge(node=node, page=page, index=index) for index, node in enumerate(root.node_list)]


@strawberry.type(description="A connection to a list of items.")
class Connection(Generic[Item]):
    """A page as Relay shows it. Its edges are made when asked for: a console reading
    `nodes` (an incidents page's tasks) allocates none."""

    page_info: PageInfo = strawberry.field(description="Pagination data for this connection")
    edges: list[Edge[Item]] = strawberry.field(
        resolver=_edges, description="Contains the nodes in this connection"
    )
    counted: strawberry.Private[Counted]
    # The page's nodes, in order: `nodes` answers them without a resolver call.
    node_list: strawberry.Private[list[Item]]

    @strawberry.field(description="The nodes of this page, in the order of `edges`.")
    @answered_by("node_list")
    def nodes(self) -> list[Item]:
        return self.node_list

    @strawberry.field(
        description=(
            "How many items the whole list holds under its filter, whatever the page: exact "
            "up to a bound (10,000 unless the deployment sets `GRAPHQL_EXACT_COUNT_BOUND`), "
            "PostgreSQL's estimate above it; `totalCountIsExact` says which. Counted only "
            "when asked for."
        )
    )
    async def total_count(self) -> int:
        return (await self.counted.result()).value

    @strawberry.field(
        description="true when `totalCount` was counted, false when it is an estimate."
    )
    async def total_count_is_exact(self) -> bool:
        return (await self.counted.result()).exact


def connection_of(page: Page[Any], nodes: Sequence[Item], counted: Counted) -> Connection[Item]:
    """Return the connection of `page` whose rows were built into `nodes`, in order."""
    info = PageInfo(
        has_next_page=page.has_next_page, has_previous_page=page.has_previous_page, page=page
    )
    return Connection(page_info=info, counted=counted, node_list=list(nodes))


def counted_list(
    sessions: async_sessionmaker[AsyncSession], statement: Select[Any], bound: int
) -> Counted:
    """Return the lazy total of the rows `statement` selects, read on its own connection."""

    async def count() -> TotalCount:
        async with reading(sessions) as database:
            return await count_rows(database, statement, bound)

    return Counted(count)


def exact_count_bound(info: Info) -> int:
    """Return the deployment's bound up to which `totalCount` is exact."""
    return info.context.settings.graphql_exact_count_bound


async def fetch_connection(
    info: Info,
    listing: tuple[Select[Any], Ordering],
    build: Callable[[Any], Item],
    *,
    kind: str,
    id_column: Any,
    request: PageRequest,
    preload: Preload[Item] | None = None,
) -> Connection[Item]:
    """Fetch one page of a listing (a `page_select`) as a connection.

    `preload`, when given, reads what the page's nodes will be asked for on the same
    connection, for all nodes at once, and hands them to them. Whether rows lie behind the
    starting cursor is read only when the client selected that side of `pageInfo`.
    """
    statement, ordering = listing
    far_side = "hasNextPage" if request.backward else "hasPreviousPage"
    async with reading(info.context.sessions) as database:
        page = await fetch_ordered_page(
            database,
            statement,
            kind=kind,
            ordering=ordering,
            id_column=id_column,
            request=request,
            check_far_side=far_side in page_info_fields(info),
        )
        nodes = build_rows(build, page.rows)
        if preload is not None and nodes:
            await preload(database, nodes)
    counted = counted_list(info.context.sessions, statement, exact_count_bound(info))
    return connection_of(page, nodes, counted)
