"""Building blocks for tenant-scoped reads: rows by id, and rows grouped by a parent id.

Each batch is one query filtered on the caller's organization, so a page of parents costs
one query per kind of child, and another tenant's id loads as missing or empty.

Reads fetch plain rows of the table's columns, not ORM objects: a row answers the same
attribute reads (`row.handle`, `row.due_at`) with the same column types applied, at a
fraction of the cost of building and tracking an entity. They are typed as the table class
they mirror; nothing on the read path writes to them or asks the session about them. A
column left out with `omit` is not fetched, and reading it raises instead of loading it.

Reads run outside a transaction (`reading`): under PostgreSQL's READ COMMITTED every
statement sees its own snapshot anyway, so a transaction around them would add only its
BEGIN and ROLLBACK round trips. A connection that fetched its page can read the related rows
of the whole page through the same `ById` or `Children` on its own connection, so its nodes
need no DataLoader round at all.
"""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.orm import defer
from sqlalchemy.orm.interfaces import LoaderOption
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

Row = TypeVar("Row", bound=SQLModel)


def never_load(column: Any) -> LoaderOption:
    """Leave `column` out of an ORM query; touching it afterwards raises instead of loading."""
    return defer(column, raiseload=True)


def plain_columns(table: type[SQLModel], omit: Collection[Any] = ()) -> list[Any]:
    """Return the columns of `table` a plain-row read selects, without those in `omit`."""
    omitted = {column.key for column in omit}
    columns = table.__table__.columns  # type: ignore[attr-defined]  # set by the table metaclass
    return [column for column in columns if column.key not in omitted]


@asynccontextmanager
async def reading(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncConnection]:
    """Yield a pooled connection for reads, each statement committed on its own."""
    async with sessions() as session:
        yield await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


async def read_rows(connection: AsyncConnection, statement: Select[Any]) -> Sequence[Any]:
    """Run `statement` and return its plain rows."""
    result = await connection.execute(statement)
    rows: Sequence[Any] = result.all()
    return rows


@dataclass(frozen=True)
class ById(Generic[Row]):
    """Rows of `table` by a unique `key` column, within one organization."""

    table: type[Row]
    key: Any
    organization: Any
    omit: Collection[Any] = ()

    async def fetch(
        self, connection: AsyncConnection, organization_id: uuid.UUID, ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Row]:
        """Return the organization's rows whose key is in `ids`, by key."""
        if not ids:
            return {}
        statement = select(*plain_columns(self.table, self.omit)).where(
            self.key.in_(ids), self.organization == organization_id
        )
        rows = await read_rows(connection, statement)
        name = self.key.key
        return {getattr(row, name): cast(Row, row) for row in rows}

    def loader(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> DataLoader[uuid.UUID, Row | None]:
        """Return a DataLoader of these rows, None where missing or another organization's."""

        async def load(ids: list[uuid.UUID]) -> list[Row | None]:
            async with reading(sessions) as connection:
                found = await self.fetch(connection, organization_id, ids)
            return [found.get(id_) for id_ in ids]

        return DataLoader(load_fn=load)


@dataclass(frozen=True)
class Children(Generic[Row]):
    """Rows of `table` grouped by their `parent` column, in `order_by` order."""

    table: type[Row]
    parent: Any
    organization: Any
    order_by: Sequence[Any]
    omit: Collection[Any] = ()

    async def fetch(
        self, connection: AsyncConnection, organization_id: uuid.UUID, ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Row]]:
        """Return the organization's rows under each parent in `ids`; absent parents have none."""
        grouped: dict[uuid.UUID, list[Row]] = defaultdict(list)
        if not ids:
            return grouped
        statement = (
            select(*plain_columns(self.table, self.omit))
            .where(self.parent.in_(ids), self.organization == organization_id)
            .order_by(*self.order_by)
        )
        name = self.parent.key
        for row in await read_rows(connection, statement):
            grouped[getattr(row, name)].append(cast(Row, row))
        return grouped

    def loader(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> DataLoader[uuid.UUID, list[Row]]:
        """Return a DataLoader of each parent's rows, empty for another organization's parent."""

        async def load(ids: list[uuid.UUID]) -> list[list[Row]]:
            async with reading(sessions) as connection:
                grouped = await self.fetch(connection, organization_id, ids)
            return [grouped.get(id_, []) for id_ in ids]

        return DataLoader(load_fn=load)


def rows_by_id(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    table: type[Row],
    key: Any,
    organization: Any,
    omit: Collection[Any] = (),
) -> DataLoader[uuid.UUID, Row | None]:
    """Load rows of `table` by `key`, None where missing or another organization's."""
    return ById(table, key, organization, omit).loader(sessions, organization_id)


def rows_by_parent(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    table: type[Row],
    parent: Any,
    organization: Any,
    order_by: Sequence[Any],
    omit: Collection[Any] = (),
) -> DataLoader[uuid.UUID, list[Row]]:
    """Load the rows of `table` whose `parent` column is each key, in `order_by` order."""
    return Children(table, parent, organization, order_by, omit).loader(sessions, organization_id)


def row_by_parent(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    table: type[Row],
    parent: Any,
    organization: Any,
) -> DataLoader[uuid.UUID, Row | None]:
    """Load the one row of `table` whose unique `parent` column is each key, or None."""
    return rows_by_id(sessions, organization_id, table, parent, organization)
