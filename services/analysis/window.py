"""The window a tier decision looks at: its bounds, the baseline before it, what it holds.

`WindowStats` is what the risk model scores. One SQL statement computes it
(`repository.window.window_stats`), over the stored `watchlist_hit` rows in the live worker
and over replayed rows in a backtest, so a backtest decides exactly as the live system
would have. The baseline series is counted in SQL live and by `baseline_series` in a
replay; a test checks that both count alike.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from libs.contracts.enums import CrisisType

WINDOW = timedelta(minutes=15)
BASELINE_WINDOWS = 96
BASELINE_SPAN = WINDOW * BASELINE_WINDOWS
VELOCITY_SPAN = timedelta(minutes=5)
# How many media and KOL handles, sensitive terms and cues a signal names.
NAMED = 5
TOP_MENTIONS = 10


@dataclass(frozen=True)
class StoryStats:
    """The window's largest story: its volume now, before, and how many users it unites."""

    story_id: uuid.UUID
    window_count: int
    negative_authors: int
    baseline: tuple[int, ...] = ()


@dataclass(frozen=True)
class WindowStats:
    """What happened to one watchlist in the window ending now, and in the windows before it."""

    window_start: datetime
    window_end: datetime
    window_count: int
    negative_count: int
    recent_count: int
    baseline: tuple[int, ...] = ()
    followers: int = 0
    views: int = 0
    media_authors: tuple[str, ...] = ()
    kol_authors: tuple[str, ...] = ()
    sensitive_max: float = 0.0
    sensitive_mentions: int = 0
    sensitive_terms: tuple[str, ...] = ()
    crisis_type: CrisisType | None = None
    crisis_mentions: int = 0
    crisis_evidence: tuple[str, ...] = ()
    top_story: StoryStats | None = None
    top_mention_ids: tuple[uuid.UUID, ...] = ()
    windows_since_spike: int | None = None
    last_spike_count: int | None = None

    @property
    def baseline_count(self) -> int:
        """Return the mentions of the whole baseline span."""
        return sum(self.baseline)

    def with_story_baseline(self, baseline: Sequence[int]) -> "WindowStats":
        """Return these stats with the top story's own baseline series filled in."""
        if self.top_story is None:
            return self
        return replace(self, top_story=replace(self.top_story, baseline=tuple(baseline)))


def window_bounds(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """Return (baseline start, window start, velocity start, window end) for `now`."""
    window_start = now - WINDOW
    return window_start - BASELINE_SPAN, window_start, now - VELOCITY_SPAN, now


def window_index(posted_at: datetime, now: datetime) -> int:
    """Return how many whole windows before the current one `posted_at` falls (0 = current)."""
    _, window_start, _, _ = window_bounds(now)
    if posted_at >= window_start:
        return 0
    return 1 + int((window_start - posted_at) / WINDOW)


def baseline_series(posted: Iterable[datetime], now: datetime) -> tuple[int, ...]:
    """Count mentions per window over the baseline span, oldest window first."""
    counts = [0] * BASELINE_WINDOWS
    for at in posted:
        index = window_index(at, now)
        if 1 <= index <= BASELINE_WINDOWS:
            counts[BASELINE_WINDOWS - index] += 1
    return tuple(counts)
