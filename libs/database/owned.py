"""Look up one organization's row by id: another organization's row is simply not found."""

import uuid
from typing import Protocol, TypeVar

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession


class OwnedRow(Protocol):
    """A row that belongs to one organization and is named by its id."""

    id: uuid.UUID
    organization_id: uuid.UUID


Row = TypeVar("Row", bound=OwnedRow)


async def owned(
    session: AsyncSession,
    table: type[Row],
    organization_id: uuid.UUID,
    row_id: uuid.UUID,
    *,
    lock: bool = False,
) -> Row | None:
    """Return the organization's row of `table`, locked when `lock`; another's is None."""
    query = select(table).where(
        col(table.id) == row_id, col(table.organization_id) == organization_id
    )
    result = await session.exec(query.with_for_update() if lock else query)
    return result.first()
