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
    keys_kept: bool = False,
) -> Row | None:
    """Return the organization's row of `table`, locked when `lock`; another's is None.

    With `keys_kept` the caller promises not to change a key (a unique column) of the row
    or delete it, and the lock is FOR NO KEY UPDATE: rows that reference this one (their
    foreign-key checks take FOR KEY SHARE) are inserted past it, and do not hold it off.
    """
    query = select(table).where(
        col(table.id) == row_id, col(table.organization_id) == organization_id
    )
    if lock:
        query = query.with_for_update(key_share=keys_kept)
    result = await session.exec(query)
    return result.first()
