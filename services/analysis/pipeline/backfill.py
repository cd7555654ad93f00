"""When a watchlist's decision waits: a backfill is decided once it has settled.

A history pushed as a backfill (a partner replaying a day of complaints, a new watchlist
importing its past) arrives as several batches that workers analyse concurrently. The
batch holding the newest posts can see its window full while the older part, the
baseline, is not committed yet: decided then, an ordinary window looks like a spike
against a history that is half missing. So a batch whose posts for a watchlist are mostly
backfill stores its hits and does not decide; it marks the watchlist's decision due
`SETTLE` after it, and each further backfill batch pushes that later. The re-scoring
sweep decides the watchlist once the mark is due, on the whole history.

A live batch (its posts mostly within the window) decides at once, unless a backfill of
the same watchlist is still settling: its decision would read the same half history.
It then waits with the backfill, but caps the mark at its own arrival plus `SETTLE`, so
later backfill batches cannot push a live crisis back further than that.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from services.analysis.window import WINDOW

SETTLE: Final = timedelta(seconds=30)
"""How long after the last backfill batch its decision waits for the rest to commit.

Eight concurrent batches of 1,000 are analysed within seconds of each other; 30 s covers
them with a margin, and it is the most a live batch waits behind a backfill.
"""


def is_backfill(posted: Iterable[datetime], now: datetime) -> bool:
    """Return whether most of these posts are older than the window ending at `now`.

    More than half posted before the window: the batch fills the history, not the window.
    A tie counts as live, so a crisis is never held back on a coin toss.
    """
    window_start = now - WINDOW
    times = list(posted)
    return 2 * sum(1 for at in times if at < window_start) > len(times)


@dataclass(frozen=True)
class DecisionDue:
    """A watchlist's waiting decision: when it is due, and the latest it may become due.

    `at` None: no decision waits. `by` None: no live batch waits, so a backfill batch may
    push `at` as far as it needs.
    """

    at: datetime | None = None
    by: datetime | None = None

    def settling(self, now: datetime) -> bool:
        """Return whether a backfill is still settling at `now` (its decision not due yet)."""
        return self.at is not None and now < self.at

    def due(self, now: datetime) -> bool:
        """Return whether a decision waits and is due at `now`."""
        return self.at is not None and self.at <= now

    def after_backfill(self, now: datetime) -> "DecisionDue":
        """Return the mark once a backfill batch arrived at `now`: due `SETTLE` after it.

        Never earlier than a mark already set (a replica's clock may run behind), never
        later than `by`.
        """
        at = now + SETTLE if self.at is None else max(self.at, now + SETTLE)
        return DecisionDue(at if self.by is None else min(at, self.by), self.by)

    def after_live(self, now: datetime) -> "DecisionDue":
        """Return the mark once a live batch arrived at `now` while the backfill settles."""
        by = now + SETTLE if self.by is None else min(self.by, now + SETTLE)
        return DecisionDue(by if self.at is None else min(self.at, by), by)
