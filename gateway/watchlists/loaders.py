"""The watchlist reads other types load through (`Watchlist.load`), and which are drills'."""

import uuid

from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.reads import Batched, ById
from libs.database.tables import Drill, Watchlist

WATCHLISTS = ById(Watchlist, col(Watchlist.id))


async def _drills(
    session: AsyncSession, organization_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[bool]:
    found = await session.exec(
        select(Drill.watchlist_id).where(
            col(Drill.organization_id) == organization_id, col(Drill.watchlist_id).in_(ids)
        )
    )
    drills = set(found.all())
    return [watchlist_id in drills for watchlist_id in ids]


IS_DRILL = Batched(_drills)
"""Whether each watchlist is a drill's own (one query per page of watchlists)."""


def is_drill() -> ColumnElement[bool]:
    """The watchlist is a drill's own (its drill is found through the unique `watchlist_id`)."""
    return select(Drill.id).where(col(Drill.watchlist_id) == col(Watchlist.id)).exists()
