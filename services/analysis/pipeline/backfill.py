"""When a watchlist's decision waits: a backfill is decided once it has settled.

A history pushed as a backfill (a partner replaying a day of complaints, a new watchlist
importing its past) arrives as several batches that workers analyse concurrently. The
batch holding the newest posts can see its window full while the older part, the
baseline, is not committed yet: decided then, an ordinary window looks like a spike
against a history that is half missing. So a batch whose posts for a watchlist are mostly
backfill stores its hits and does not decide; it marks the watchlist's decision due
`SETTLE` after it, and each further backfill batch pushes the mark later. The re-scoring
sweep decides the watchlist once the mark is due, on the whole history, and clears it.

A live batch (its posts mostly within the window) decides at once, even while a backfill
settles: a crisis is never held back for a history. Its decision leaves the mark in place,
so the sweep decides again once the backfill has settled.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from services.analysis.window import WINDOW

SETTLE: Final = timedelta(seconds=30)
"""How long after the last backfill batch its decision waits for the rest to commit.

Eight concurrent batches of 1,000 are analysed within seconds of each other; 30 s covers
them with a margin and is half the re-scoring interval, so the decision is taken at the
first or second pass after the backfill.
"""


def is_backfill(posted: Iterable[datetime], now: datetime) -> bool:
    """Return whether most of these posts are older than the window ending at `now`.

    More than half posted before the window: the batch fills the history, not the window.
    A tie counts as live, so a crisis is never held back on a coin toss.
    """
    window_start = now - WINDOW
    times = list(posted)
    return 2 * sum(1 for at in times if at < window_start) > len(times)


def due_after_backfill(due_at: datetime | None, now: datetime) -> datetime:
    """Return when the decision is due once a backfill batch arrived at `now`: `SETTLE` later.

    Never earlier than a mark already set (a replica's clock may run behind).
    """
    return now + SETTLE if due_at is None else max(due_at, now + SETTLE)


def settling(due_at: datetime | None, now: datetime) -> bool:
    """Return whether a backfill is still settling at `now`: a decision waits, not due yet."""
    return due_at is not None and now < due_at
