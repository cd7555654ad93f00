"""Connections under each object of a page: an incident's timeline, a story's mentions.

A `NestedList` declares such a list once: the rows of one organization (`rows`), the column
naming each row's parent, its order and the kind its cursors carry. Every parent of a page
asks through the request's DataLoaders, so a page of twenty incidents reads the timelines of
all twenty in one query: each parent's page is a LATERAL subquery with the same keyset
condition, order and `LIMIT` a single list uses, so a parent with a hundred thousand rows
reads only its page. Parents asking with the same arguments share a query; a cursor is
bound to its list and order, not to one parent.

`totalCount` under each parent is counted the same way, batched, exact up to the bound and
estimated above it (`gateway.core.counting`).

A page of parents that shows each parent's first page (an incidents page with each
incident's first ten tasks) reads them with its own rows (`preloaded`) and hands each
parent its connection; the executor answers the field from it (`answered_by` with a key),
without a resolver call per parent. The statement of a first page, the same for every
request but for the organization and the parents, is built once and bound anew.
"""

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, func, literal, select, true
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.dataloader import DataLoader

from gateway.core.connection import Connection, connection_of, exact_count_bound
from gateway.core.context import Info
from gateway.core.counting import Counted, TotalCount, counted_rows, estimated_rows
from gateway.core.pagination import (
    InvalidPaginationError,
    Ordering,
    Page,
    PageRequest,
    checked_far_side,
    far_side,
    paged,
    window,
)
from gateway.core.reads import Sessions, reading
from gateway.core.rows import build_rows
from gateway.core.selection import NodeField, page_info_fields

Item = TypeVar("Item")


@dataclass(frozen=True)
class PageOf:
    """One parent's page, and whether to read what lies behind its starting cursor."""

    parent_id: uuid.UUID
    request: PageRequest
    check_far_side: bool = False


@dataclass(frozen=True)
class CountOf:
    """One parent's total, exact up to `bound`."""

    parent_id: uuid.UUID
    bound: int


# Identity, not field equality: each declaration is one module-level value.
@dataclass(frozen=True, eq=False)
class NestedList:
    """Rows under each parent: `rows(organization)` selects an organization's rows (plain
    columns) with whatever they join, `parent` is the column naming their parent.

    `rows` is given the organization's id, or a bound parameter standing for it when a
    first page's statement is built once for every request: it must only compare columns
    with it in SQL, never use its value in Python, or one tenant's value would be built
    into every request's statement (`gateway/tests/test_nested_statements.py` holds every
    declared list to that).
    """

    kind: str
    rows: Callable[[Any], Select[Any]]
    parent: Any
    id_column: Any
    ordering: Ordering
    # First pages' statements by (size, backward): they differ only in bound values.
    _first_pages: dict[tuple[int, bool], Select[Any]] = field(
        default_factory=dict, init=False, repr=False
    )

    def _of(self, organization_id: Any) -> Select[Any]:
        return self.rows(organization_id).add_columns(self.ordering.key.label("sort_key"))

    async def pages(
        self, connection: AsyncConnection, organization_id: uuid.UUID, keys: list[PageOf]
    ) -> dict[PageOf, Page[Any]]:
        """Read the page of every parent in `keys`: one query per set of arguments."""
        groups: dict[tuple[PageRequest, bool], list[PageOf]] = defaultdict(list)
        for key in keys:
            groups[key.request, key.check_far_side].append(key)
        found: dict[PageOf, Page[Any]] = {}
        for (request, check), group in groups.items():
            parents = [key.parent_id for key in group]
            pages = await self._pages(connection, organization_id, parents, request)
            if check:
                behind = await self._behind(connection, organization_id, parents, request)
                pages = {
                    parent: checked_far_side(page, request, parent in behind)
                    for parent, page in pages.items()
                }
            found.update({key: pages[key.parent_id] for key in group})
        return found

    def _statement(self, organization_id: Any, parents: Any, request: PageRequest) -> Select[Any]:
        """Each parent's page: a LATERAL read of its rows, numbered in the page's order."""
        place = {"kind": self.kind, "ordering": self.ordering, "id_column": self.id_column}
        each = _parents_table(parents)
        reading_order = self.ordering.reversed() if request.backward else self.ordering
        # The number follows the page's own order, so PostgreSQL stops at the LIMIT.
        position = func.row_number().over(order_by=_order_of(reading_order, self.id_column))
        page = (
            window(
                self._of(organization_id).where(self.parent == each.c.id),
                request=request,
                **place,
            )
            # Named apart from every table's columns (tasks have a `position` of their own).
            .add_columns(position.label("nested_place"))
            .lateral("page")
        )
        return (
            select(each.c.id.label("parent_of"), page)
            .select_from(each)
            .join(page, true())
            .order_by(each.c.id, page.c.nested_place)
        )

    def first_page(self, request: PageRequest) -> Select[Any]:
        """The statement of a first page of `request`'s size and direction, bound with
        `nested_organization` and `nested_parents` when run; built once, and kept for the
        last few shapes asked (a client trying every size keeps no more)."""
        shape = (request.size, request.backward)
        statement = self._first_pages.get(shape)
        if statement is None:
            statement = self._statement(_ORGANIZATION, _PARENTS, request)
            if len(self._first_pages) >= FIRST_PAGES_KEPT:
                del self._first_pages[next(iter(self._first_pages))]  # the oldest
            self._first_pages[shape] = statement
        return statement

    async def _pages(
        self,
        connection: AsyncConnection,
        organization_id: uuid.UUID,
        parents: list[uuid.UUID],
        request: PageRequest,
    ) -> dict[uuid.UUID, Page[Any]]:
        if request.after is None and request.before is None:
            statement = self.first_page(request)
            values = {_ORGANIZATION.key: organization_id, _PARENTS.key: parents}
            result = await connection.execute(statement, values)
        else:
            statement = self._statement(organization_id, _parents_array(parents), request)
            result = await connection.execute(statement)
        grouped: dict[uuid.UUID, list[tuple[Any, Any]]] = defaultdict(list)
        rows = result.all()
        if rows:
            # By position: a row's attribute lookup costs several times its index.
            fields = rows[0]._fields
            parent_at, key_at = fields.index("parent_of"), fields.index("sort_key")
            for row in rows:
                grouped[row[parent_at]].append((row, row[key_at]))
        id_key = self.id_column.key
        return {
            parent: paged(self.kind, self.ordering, id_key, grouped[parent], request)
            for parent in parents
        }

    async def _behind(
        self,
        connection: AsyncConnection,
        organization_id: uuid.UUID,
        parents: list[uuid.UUID],
        request: PageRequest,
    ) -> set[uuid.UUID]:
        """Return the parents holding a row behind the page's starting cursor."""
        each = _parents_table(_parents_array(parents))
        probe = far_side(
            self._of(organization_id).where(self.parent == each.c.id),
            kind=self.kind,
            ordering=self.ordering,
            id_column=self.id_column,
            request=request,
        )
        if probe is None:
            return set()
        statement = select(each.c.id).where(probe.exists())
        return set((await connection.execute(statement)).scalars())

    async def counts(
        self, connection: AsyncConnection, organization_id: uuid.UUID, keys: list[CountOf]
    ) -> dict[CountOf, TotalCount]:
        """Count each parent's rows up to its bound in one query; estimate those above it."""
        found: dict[CountOf, TotalCount] = {}
        bounds: dict[int, list[CountOf]] = defaultdict(list)
        for key in keys:
            bounds[key.bound].append(key)
        for bound, group in bounds.items():
            each = _parents_table(_parents_array([key.parent_id for key in group]))
            limited = (
                counted_rows(self.rows(organization_id))
                .where(self.parent == each.c.id)
                .limit(bound + 1)
                .lateral("limited")
            )
            statement = (
                select(each.c.id, func.count(limited.c.one))
                .select_from(each)
                .outerjoin(limited, true())
                .group_by(each.c.id)
            )
            result = await connection.execute(statement)
            counted: dict[uuid.UUID, int] = {parent: seen for parent, seen in result.all()}
            for key in group:
                value = int(counted[key.parent_id])
                if value <= bound:
                    found[key] = TotalCount(value, exact=True)
                    continue
                alone = counted_rows(self.rows(organization_id)).where(self.parent == key.parent_id)
                estimate = await estimated_rows(connection, alone)
                found[key] = TotalCount(max(estimate, bound + 1), exact=False)
        return found

    def page_loader(
        self, sessions: Sessions, organization_id: uuid.UUID
    ) -> DataLoader[PageOf, Page[Any]]:
        """Return a DataLoader of parents' pages."""

        async def load(keys: list[PageOf]) -> list[Page[Any]]:
            async with reading(sessions) as connection:
                found = await self.pages(connection, organization_id, keys)
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)

    def count_loader(
        self, sessions: Sessions, organization_id: uuid.UUID
    ) -> DataLoader[CountOf, TotalCount]:
        """Return a DataLoader of parents' totals."""

        async def load(keys: list[CountOf]) -> list[TotalCount]:
            async with reading(sessions) as connection:
                found = await self.counts(connection, organization_id, keys)
            return [found[key] for key in keys]

        return DataLoader(load_fn=load)

    async def preloaded(
        self,
        info: Info,
        connection: AsyncConnection,
        parent_ids: list[uuid.UUID],
        request: PageRequest,
        build: Callable[[Any], Item],
    ) -> dict[uuid.UUID, Connection[Item]]:
        """Return each parent's connection for a page without cursors, read on `connection`.

        What `connection` below answers for one parent, for all of them at once: the same
        rows, the same page info (without a cursor there is nothing behind the start to
        check) and the same lazily counted total.
        """
        if request.after is not None or request.before is not None:
            raise ValueError("only a list's first (or last) page is read ahead")
        organization_id = info.context.principal.organization_id
        pages = await self._pages(connection, organization_id, parent_ids, request)
        counts = info.context.loaders.of(_Counts(self))
        bound = exact_count_bound(info)
        # Every parent's rows built in one batch, then dealt out in order.
        built = iter(build_rows(build, [row for page in pages.values() for row in page.rows]))
        return {
            parent: connection_of(
                page, list(islice(built, len(page.rows))), _counted(counts, CountOf(parent, bound))
            )
            for parent, page in pages.items()
        }

    async def connection(
        self,
        info: Info,
        parent_id: uuid.UUID,
        build: Callable[[Any], Item],
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
    ) -> Connection[Item]:
        """Return the page the Relay arguments ask for of the rows under `parent_id`."""
        request = PageRequest.of(first, after, last, before)
        loaders = info.context.loaders
        far = "hasNextPage" if request.backward else "hasPreviousPage"
        check = far in page_info_fields(info)
        page = await loaders.of(_Pages(self)).load(PageOf(parent_id, request, check))
        counted = _counted(loaders.of(_Counts(self)), CountOf(parent_id, exact_count_bound(info)))
        return connection_of(page, build_rows(build, page.rows), counted)


def page_key(arguments: dict[str, Any]) -> PageRequest:
    """The page a nested connection's Relay arguments ask for: the key of a parent's
    connections read ahead (`answered_by(..., key=page_key)`)."""
    return PageRequest.of(
        arguments.get("first"),
        arguments.get("after"),
        arguments.get("last"),
        arguments.get("before"),
    )


def first_pages_asked(selections: list[NodeField], name: str) -> set[PageRequest]:
    """The pages without cursors that the fields named `name` among `selections` ask for;
    arguments the resolver would refuse are left to it, which says why."""
    asked = set()
    for selected in selections:
        if selected.name != name or selected.arguments is None:
            continue
        try:
            request = page_key(selected.arguments)
        except InvalidPaginationError:
            continue
        if request.after is None and request.before is None:
            asked.add(request)
    return asked


@dataclass(frozen=True)
class _Pages:
    """The request's DataLoader of a nested list's pages (one per list, by equality)."""

    nested: NestedList

    def loader(self, sessions: Sessions, organization_id: uuid.UUID) -> DataLoader[Any, Any]:
        return self.nested.page_loader(sessions, organization_id)


@dataclass(frozen=True)
class _Counts:
    """The request's DataLoader of a nested list's totals."""

    nested: NestedList

    def loader(self, sessions: Sessions, organization_id: uuid.UUID) -> DataLoader[Any, Any]:
        return self.nested.count_loader(sessions, organization_id)


def _counted(loader: DataLoader[CountOf, TotalCount], key: CountOf) -> Counted:
    return Counted(lambda: loader.load(key))


# First-page statements kept per list: a console uses one or two sizes.
FIRST_PAGES_KEPT = 8
# The values a first page's statement is bound with (`NestedList._pages`).
_ORGANIZATION = bindparam("nested_organization", type_=UUID(as_uuid=True))
_PARENTS = bindparam("nested_parents", type_=ARRAY(UUID(as_uuid=True)))


def _parents_array(ids: list[uuid.UUID]) -> Any:
    """The parents' ids as one array parameter."""
    return literal(ids, ARRAY(UUID(as_uuid=True)))


def _parents_table(array: Any) -> Any:
    """The parents' ids as a one-column table, `unnest` of the array."""
    return func.unnest(array).table_valued("id").render_derived(name="parent")


def _order_of(ordering: Ordering, id_column: Any) -> tuple[Any, Any]:
    direction = "desc" if ordering.descending else "asc"
    return getattr(ordering.key, direction)(), getattr(id_column, direction)()
