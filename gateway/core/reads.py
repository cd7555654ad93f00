"""Tenant-scoped reads: rows by id, rows grouped by a parent id, and a request's DataLoaders.

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

Each domain declares its reads once, as module-level `ById`, `Children` or `Batched`
values; `Loaders` makes the DataLoader of each the first time a request asks for it.
"""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Generic, Protocol, TypeVar, cast

from sqlalchemy import Select, any_, bindparam, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.orm import defer
from sqlalchemy.orm.interfaces import LoaderOption
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

Row = TypeVar("Row", bound=SQLModel)
Key = TypeVar("Key")
Value = TypeVar("Value")
Sessions = async_sessionmaker[AsyncSession]


def never_load(column: Any) -> LoaderOption:
    """Leave `column` out of an ORM query; touching it afterwards raises instead of loading."""
    return defer(column, raiseload=True)


def plain_columns(table: type[SQLModel], omit: Collection[Any] = ()) -> list[Any]:
    """Return the columns of `table` a plain-row read selects, without those in `omit`."""
    omitted = {column.key for column in omit}
    columns = table.__table__.columns  # type: ignore[attr-defined]  # set by the table metaclass
    return [column for column in columns if column.key not in omitted]


@asynccontextmanager
async def reading(sessions: Sessions) -> AsyncIterator[AsyncConnection]:
    """Yield a pooled connection for reads, each statement committed on its own."""
    async with sessions() as session:
        yield await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def tenant_column(table: type[SQLModel]) -> Any:
    """Return the `organization_id` column every table the gateway reads carries."""
    return getattr(table, "organization_id")  # noqa: B009 - not on SQLModel itself


async def read_rows(
    connection: AsyncConnection, statement: Select[Any], parameters: dict[str, Any] | None = None
) -> Sequence[Any]:
    """Run `statement` and return its plain rows."""
    result = await connection.execute(statement, parameters)
    rows: Sequence[Any] = result.all()
    return rows


# The reads by id are built once, with the ids as one array parameter (`= ANY(:ids)`) rather
# than a list expanded into the text: one statement for every count of ids, so SQLAlchemy
# neither rebuilds nor re-renders it per request, and PostgreSQL prepares it once per
# connection instead of once per page size.
_IDS, _ORGANIZATION = "ids", "organization_id"


def _among(column: Any) -> Any:
    """`column = ANY(:ids)`, the array typed as the column."""
    return column == any_(bindparam(_IDS, type_=postgresql.ARRAY(column.type)))


def _parameters(organization_id: uuid.UUID, ids: Collection[uuid.UUID]) -> dict[str, Any]:
    return {_IDS: list(ids), _ORGANIZATION: organization_id}


class LoaderSpec(Protocol[Key, Value]):
    """A declared read that can make its DataLoader for one organization."""

    def loader(self, sessions: Sessions, organization_id: uuid.UUID) -> DataLoader[Key, Value]:
        """Return a new DataLoader for the organization's rows."""
        ...


# Identity, not field equality: each declaration is one module-level value, and its SQL
# columns would compare into expressions rather than booleans.
@dataclass(frozen=True, eq=False)
class ById(Generic[Row]):
    """Rows of `table` by a unique `key` column, within one organization."""

    table: type[Row]
    key: Any
    omit: Collection[Any] = ()

    @cached_property
    def _statement(self) -> Select[Any]:
        return select(*plain_columns(self.table, self.omit)).where(
            _among(self.key), tenant_column(self.table) == bindparam(_ORGANIZATION)
        )

    async def fetch(
        self, connection: AsyncConnection, organization_id: uuid.UUID, ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Row]:
        """Return the organization's rows whose key is in `ids`, by key."""
        if not ids:
            return {}
        rows = await read_rows(connection, self._statement, _parameters(organization_id, ids))
        name = self.key.key
        return {getattr(row, name): cast(Row, row) for row in rows}

    def loader(
        self, sessions: Sessions, organization_id: uuid.UUID
    ) -> DataLoader[uuid.UUID, Row | None]:
        """Return a DataLoader of these rows, None where missing or another organization's."""

        async def load(ids: list[uuid.UUID]) -> list[Row | None]:
            async with reading(sessions) as connection:
                found = await self.fetch(connection, organization_id, ids)
            return [found.get(id_) for id_ in ids]

        return DataLoader(load_fn=load)


@dataclass(frozen=True, eq=False)
class Children(Generic[Row]):
    """Rows of `table` grouped by their `parent` column, in `order_by` order."""

    table: type[Row]
    parent: Any
    order_by: Sequence[Any]
    omit: Collection[Any] = ()

    @cached_property
    def _statement(self) -> Select[Any]:
        return (
            select(*plain_columns(self.table, self.omit))
            .where(_among(self.parent), tenant_column(self.table) == bindparam(_ORGANIZATION))
            .order_by(*self.order_by)
        )

    async def fetch(
        self, connection: AsyncConnection, organization_id: uuid.UUID, ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, list[Row]]:
        """Return the organization's rows under each parent in `ids`; absent parents have none."""
        grouped: dict[uuid.UUID, list[Row]] = defaultdict(list)
        if not ids:
            return grouped
        name = self.parent.key
        for row in await read_rows(connection, self._statement, _parameters(organization_id, ids)):
            grouped[getattr(row, name)].append(cast(Row, row))
        return grouped

    def loader(
        self, sessions: Sessions, organization_id: uuid.UUID
    ) -> DataLoader[uuid.UUID, list[Row]]:
        """Return a DataLoader of each parent's rows, empty for another organization's parent."""

        async def load(ids: list[uuid.UUID]) -> list[list[Row]]:
            async with reading(sessions) as connection:
                grouped = await self.fetch(connection, organization_id, ids)
            return [grouped.get(id_, []) for id_ in ids]

        return DataLoader(load_fn=load)


# Reads a whole batch for one organization in one session: (session, organization, keys).
BatchRead = Callable[[AsyncSession, uuid.UUID, list[Key]], Awaitable[list[Value]]]


@dataclass(frozen=True, eq=False)
class Batched(Generic[Key, Value]):
    """A read of its own shape (a join, a window function), one query per batch of keys."""

    read: BatchRead[Key, Value]

    def loader(self, sessions: Sessions, organization_id: uuid.UUID) -> DataLoader[Key, Value]:
        """Return a DataLoader that answers each batch with one call of `read`."""

        async def load(keys: list[Key]) -> list[Value]:
            async with sessions() as session:
                return await self.read(session, organization_id, keys)

        return DataLoader(load_fn=load)


class Loaders:
    """The DataLoaders of one request, all scoped to `organization_id`, made on first use."""

    def __init__(self, sessions: Sessions, organization_id: uuid.UUID) -> None:
        self._sessions = sessions
        self._organization_id = organization_id
        self._made: dict[object, DataLoader[Any, Any]] = {}

    def of(self, spec: LoaderSpec[Key, Value]) -> DataLoader[Key, Value]:
        """Return the request's DataLoader for `spec`, the same one every time."""
        made = self._made.get(spec)
        if made is None:
            made = self._made[spec] = spec.loader(self._sessions, self._organization_id)
        return cast(DataLoader[Key, Value], made)
