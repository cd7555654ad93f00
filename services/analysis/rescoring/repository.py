"""The SQL of re-scoring: which watchlists hold a tier or have a decision due."""

import uuid
from datetime import datetime

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Watchlist
from services.analysis.risk import NO_TIER


async def due_watchlists(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    """Return every watchlist, of any organization, to re-decide at `at`, in id order.

    Those holding a tier decided by `at` (a tier decided after `at`, by a batch on a
    replica whose clock runs ahead, is newer than this pass; the next pass re-decides it),
    and those whose decision waited for a backfill to settle and is due by `at`.
    """
    tiered = (
        col(Watchlist.current_tier).is_not(None)
        & (Watchlist.current_tier != NO_TIER)
        & (col(Watchlist.tier_changed_at) <= at)
    )
    result = await session.exec(
        select(Watchlist.id)
        .where(or_(tiered, col(Watchlist.decision_due_at) <= at))
        .order_by(col(Watchlist.id))
    )
    return list(result.all())
