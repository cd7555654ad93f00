"""Building blocks for tenant-scoped DataLoaders: rows by id, and rows grouped by a parent id.

Each batch is one query filtered on the caller's organization, so a page of parents costs
one query per kind of child, and another tenant's id loads as missing or empty.
"""

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import defer
from sqlalchemy.orm.interfaces import LoaderOption
from sqlmodel import SQLModel, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

Row = TypeVar("Row", bound=SQLModel)


def never_load(column: Any) -> LoaderOption:
    """Leave `column` out of the query; touching it afterwards raises instead of loading it."""
    return defer(column, raiseload=True)


def rows_by_id(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    table: type[Row],
    key: Any,
    organization: Any,
    options: Sequence[LoaderOption] = (),
) -> DataLoader[uuid.UUID, Row | None]:
    """Load rows of `table` by `key`, None where missing or another organization's."""

    async def load(ids: list[uuid.UUID]) -> list[Row | None]:
        statement = (
            select(table).where(key.in_(ids), organization == organization_id).options(*options)
        )
        async with sessions() as session:
            rows = (await session.exec(statement)).all()
        found = {getattr(row, key.key): row for row in rows}
        return [found.get(id_) for id_ in ids]

    return DataLoader(load_fn=load)


def rows_by_parent(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    table: type[Row],
    parent: Any,
    organization: Any,
    order_by: Sequence[Any],
    options: Sequence[LoaderOption] = (),
) -> DataLoader[uuid.UUID, list[Row]]:
    """Load the rows of `table` whose `parent` column is each key, in `order_by` order."""

    async def load(ids: list[uuid.UUID]) -> list[list[Row]]:
        statement = (
            select(table)
            .where(parent.in_(ids), organization == organization_id)
            .order_by(*order_by)
            .options(*options)
        )
        async with sessions() as session:
            rows = (await session.exec(statement)).all()
        grouped: dict[uuid.UUID, list[Row]] = defaultdict(list)
        for row in rows:
            grouped[getattr(row, parent.key)].append(row)
        return [grouped[id_] for id_ in ids]

    return DataLoader(load_fn=load)


def row_by_parent(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    table: type[Row],
    parent: Any,
    organization: Any,
) -> DataLoader[uuid.UUID, Row | None]:
    """Load the one row of `table` whose unique `parent` column is each key, or None."""
    return rows_by_id(sessions, organization_id, table, parent, organization)
