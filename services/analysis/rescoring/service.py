"""One watchlist re-decided at `now`, as a mention batch would decide it."""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.outcome import Outcome
from services.analysis import risk
from services.analysis.pipeline.backfill import settling
from services.analysis.pipeline.stages import decide_window, read_window
from services.analysis.repository import watchlists


async def rescore_watchlist(
    session: AsyncSession, watchlist_id: uuid.UUID, clock: Clock
) -> Outcome:
    """Lock the watchlist, re-decide its tier now and emit the rise or fall, if any.

    The lock makes a concurrent batch or a second runner wait and then read the tier this
    one stored, so the same change is never recorded twice. A watchlist that lost its
    tier meanwhile (a batch decided first) and has no decision due is left alone; so is
    one whose backfill is still settling, until its decision is due (the decision clears
    the mark, so it is taken once).
    """
    locked = await watchlists.lock_watchlists(session, [watchlist_id])
    if not locked:
        return Outcome()
    watchlist, now = locked[0], clock.now()
    due_at = watchlist.decision_due_at
    if settling(due_at, now) or (
        risk.parse_tier(watchlist.current_tier) is None and due_at is None
    ):
        return Outcome()
    told = await decide_window(
        session, watchlist.organization_id, await read_window(session, watchlist, now), now
    )
    return Outcome.emit(told) if told is not None else Outcome()
