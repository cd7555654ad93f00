"""Reads of the caller's own rows, afresh: one row by a key, or all of a table's in order.

Every read is filtered on the caller's organization, so another tenant's id reads as missing.
"""

import uuid
from collections.abc import Sequence
from typing import Any, TypeVar

from sqlalchemy.orm.interfaces import LoaderOption
from sqlmodel import SQLModel, col, select
from strawberry import relay

from gateway.core.context import Info
from gateway.core.inputs import local_id
from gateway.core.reads import tenant_column

Row = TypeVar("Row", bound=SQLModel)


async def fetch(
    info: Info,
    table: type[Row],
    row_id: uuid.UUID | None,
    *,
    by: str = "id",
    options: Sequence[LoaderOption] = (),
) -> Row | None:
    """Read a row of the caller's organization afresh (a command may have just changed it).

    `by` names the unique column `row_id` is matched against; `options` leave columns out.
    """
    if row_id is None:
        return None
    key: Any = getattr(table, by)
    organization = tenant_column(table)
    statement = (
        select(table)
        .where(col(key) == row_id, col(organization) == info.context.principal.organization_id)
        .options(*options)
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()


async def every(
    info: Info, table: type[Row], *order_by: Any, options: Sequence[LoaderOption] = ()
) -> Sequence[Row]:
    """Read all rows of `table` the caller's organization has, in `order_by` order."""
    statement = (
        select(table)
        .where(col(tenant_column(table)) == info.context.principal.organization_id)
        .order_by(*order_by)
        .options(*options)
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).all()


async def owned(
    info: Info, table: type[Row], global_id: relay.GlobalID, type_name: str
) -> Row | None:
    """Return the row behind a global id of `type_name` if it is the caller's, else None."""
    return await fetch(info, table, local_id(global_id, type_name))
