"""The SQL of re-scoring: which watchlists hold a tier."""

import uuid
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Watchlist
from services.analysis.risk import NO_TIER


async def tiered_watchlists(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    """Return every watchlist, of any organization, holding a tier decided by `at`, in id order.

    A tier decided after `at` (a batch on a replica whose clock runs ahead) is newer than
    this pass; the next pass re-decides it.
    """
    result = await session.exec(
        select(Watchlist.id)
        .where(
            col(Watchlist.current_tier).is_not(None),
            Watchlist.current_tier != NO_TIER,
            col(Watchlist.tier_changed_at) <= at,
        )
        .order_by(col(Watchlist.id))
    )
    return list(result.all())
