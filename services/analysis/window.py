"""The window a tier decision looks at: its bounds, the history before it, what it holds.

`WindowStats` is what the risk model scores. One SQL statement computes it
(`repository.window.window_stats`), over the stored `watchlist_hit` rows in the live worker
and over replayed rows in a backtest, so a backtest decides exactly as the live system
would have.

The history before the window is counted per window in two measures: every mention
(attention) and the *harmful* ones (`harmful`: negative, or carrying a sensitive term —
safety, injury, leak, regulator, rights, legal). Spike and velocity read the harm, so a
wave of praise is attention, not a crisis. The counts per window are read live from
`watchlist_window_rollup` (`repository.window.watchlist_history`) and made by
`window_counts` over raw posts in a replay, and both become a
`History` through the one `history` function here; a test checks both count alike.

The history is counted in the clock's quarter-hours (`history_index`), the buckets
`watchlist_window_rollup` keeps per watchlist, so a live decision reads at most 115 rows
(the day's 96 and the seasonal slots' 21, two of which fall in the day) whatever the
brand's volume, not a day of raw hits. The current window slides with `now`;
the history stops at the start of the quarter-hour that holds the window's start
(`history_end`), so the minutes between the two (under a quarter of an hour, and the start
of any burst) count in neither.

A history starts at the watchlist's first mention (backfilled posts count by `posted_at`):
the windows before it are not zeros, they are unknown. With fewer than
`MIN_HISTORY_WINDOWS` (8 windows = 2 hours) there is no baseline and the risk model
weighs absolute evidence only; with `SEASON_DAYS` (7) days it also compares the window
with the same time of day on each of those days (`History.seasonal`).
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from libs.contracts.enums import CrisisType
from libs.database.rollups import DECISION_WINDOW, ORIGIN
from services.analysis import spikes

WINDOW = timedelta(minutes=15)
BASELINE_WINDOWS = 96
BASELINE_SPAN = WINDOW * BASELINE_WINDOWS
VELOCITY_SPAN = timedelta(minutes=5)
# Two hours of history (8 windows) before a window can be tested against the watchlist's
# own past: fewer windows give a mean and spread that one busy quarter-hour moves by
# itself. It is the spike test's own minimum, so the two cannot disagree.
MIN_HISTORY_WINDOWS = spikes.DEFAULT.min_baseline_windows
# A week of history is a seasonal baseline: the same quarter-hour on each of the previous
# seven days, with the window on either side of it (the current window slides with `now`,
# so its slot straddles two fixed quarter-hours), 21 samples.
SEASON_DAYS = 7
SLOT_NEIGHBOURS = 1
WINDOWS_PER_DAY = int(timedelta(days=1) / WINDOW)
SEASON_WINDOWS = WINDOWS_PER_DAY * SEASON_DAYS + SLOT_NEIGHBOURS
# How far back from `now` any baseline looks (the current window, up to a window between it
# and the history's end, then the oldest seasonal window): what a replay must read before
# the first decision it makes.
HISTORY_SPAN = WINDOW * (SEASON_WINDOWS + 2)
# The history's windows are the buckets of `watchlist_window_rollup`.
if timedelta(seconds=DECISION_WINDOW) != WINDOW:
    raise RuntimeError("the decision window and the buckets of its rollup differ")
# How many media and KOL handles, sensitive terms and cues a signal names.
NAMED = 5
TOP_MENTIONS = 10
NEGATIVE = "negative"
POSITIVE = "positive"


class BaselineKind(StrEnum):
    """Which past a window is compared with; every decision names it."""

    NONE = "none"  # under MIN_HISTORY_WINDOWS since the first mention: absolute evidence only
    RECENT = "recent"  # the windows since the first mention, up to the last 24 hours
    SEASONAL = "seasonal"  # a week: also the same time of day over the previous 7 days


def harmful(sentiment: str, sensitive_score: float) -> bool:
    """Return whether a mention can hurt: negative, or carrying a sensitive term.

    `libs.database.rollups.HARMFUL` is the same predicate in SQL.
    """
    return sentiment == NEGATIVE or sensitive_score > 0


@dataclass(frozen=True)
class History:
    """The windows before the current one since the first mention, oldest first.

    `volume` counts every mention and `harm` the harmful ones, over at most the last
    `BASELINE_WINDOWS`; `seasonal` holds the harm of the same slot (and its neighbours) on
    each of the previous `SEASON_DAYS` days, only when the history is that long.
    `windows` is how many whole windows have passed since the first mention's window.
    """

    volume: tuple[int, ...] = ()
    harm: tuple[int, ...] = ()
    seasonal: tuple[int, ...] = ()
    windows: int = 0

    @property
    def kind(self) -> BaselineKind:
        """Return which baseline this history gives."""
        if self.windows < MIN_HISTORY_WINDOWS:
            return BaselineKind.NONE
        return BaselineKind.SEASONAL if self.seasonal else BaselineKind.RECENT

    @property
    def span(self) -> timedelta:
        """Return the time the recent baseline covers."""
        return WINDOW * len(self.harm)


@dataclass(frozen=True)
class StoryStats:
    """The window's largest story: its volume now, before, and how many users it unites.

    `baseline` is the story's harm per window over the watchlist's history (same length).
    """

    story_id: uuid.UUID
    window_count: int
    negative_authors: int
    harm_count: int = 0
    baseline: tuple[int, ...] = ()


@dataclass(frozen=True)
class WindowStats:
    """What happened to one watchlist in the window ending now, and in the windows before it."""

    window_start: datetime
    window_end: datetime
    window_count: int
    negative_count: int
    recent_count: int
    history: History = History()
    harm_count: int = 0
    recent_harm_count: int = 0
    positive_count: int = 0
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
    def baseline(self) -> tuple[int, ...]:
        """Return the harm per window the spike test reads."""
        return self.history.harm

    @property
    def baseline_count(self) -> int:
        """Return the mentions of the whole recent baseline (attention)."""
        return sum(self.history.volume)

    @property
    def baseline_harm(self) -> int:
        """Return the harmful mentions of the whole recent baseline."""
        return sum(self.history.harm)

    def with_story_baseline(self, baseline: Sequence[int]) -> "WindowStats":
        """Return these stats with the top story's own harm series filled in."""
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


def history_end(now: datetime) -> datetime:
    """Return where the history before `now` stops: the quarter-hour holding the window's start."""
    _, window_start, _, _ = window_bounds(now)
    return window_start - (window_start - ORIGIN) % WINDOW


def history_index(posted_at: datetime, now: datetime) -> int:
    """Return which history window `posted_at` falls in (0: after the history's end).

    Window `k` ≥ 1 is the quarter-hour [end − k·WINDOW, end − (k − 1)·WINDOW), `end` being
    `history_end(now)`: the rollup bucket that starts at end − k·WINDOW.
    """
    end = history_end(now)
    if posted_at >= end:
        return 0
    return -((posted_at - end) // WINDOW)


def seasonal_indexes() -> tuple[int, ...]:
    """Return the window indexes of the same slot on each of the previous days, oldest first."""
    return tuple(
        day * WINDOWS_PER_DAY + offset
        for day in range(SEASON_DAYS, 0, -1)
        for offset in range(SLOT_NEIGHBOURS, -SLOT_NEIGHBOURS - 1, -1)
    )


def history_ranges(now: datetime) -> list[tuple[datetime, datetime]]:
    """Return the [start, end) spans that hold every window a history reads.

    The first is the 24 hours before `history_end`, the others the seasonal slots (the
    windows `seasonal_indexes` names), newest day first; each is whole rollup buckets.
    """
    end = history_end(now)
    ranges = [(end - BASELINE_SPAN, end)]
    for day in range(1, SEASON_DAYS + 1):
        newest = day * WINDOWS_PER_DAY - SLOT_NEIGHBOURS
        ranges.append((end - WINDOW * (newest + 2 * SLOT_NEIGHBOURS), end - WINDOW * (newest - 1)))
    return ranges


def window_counts(
    posted: Iterable[tuple[datetime, bool]], now: datetime
) -> dict[int, tuple[int, int]]:
    """Count (mentions, harmful mentions) per earlier window index, as the SQL counts them.

    `posted` holds each mention's posting time and whether it is harmful; only the
    windows a history reads are counted.
    """
    wanted = set(range(1, BASELINE_WINDOWS + 1)) | set(seasonal_indexes())
    counts: dict[int, tuple[int, int]] = {}
    for at, harm in posted:
        index = history_index(at, now)
        if index in wanted:
            volume, harms = counts.get(index, (0, 0))
            counts[index] = (volume + 1, harms + int(harm))
    return counts


def history(
    counts: Mapping[int, tuple[int, int]],
    first_at: datetime | None,
    now: datetime,
) -> History:
    """Build the history from per-window counts, keeping only the windows since `first_at`.

    `first_at` is the first mention's posting time (None: there is none yet).
    """
    known = history_index(first_at, now) if first_at is not None else 0
    length = min(known, BASELINE_WINDOWS)
    indexes = range(length, 0, -1)
    volume = tuple(counts.get(i, (0, 0))[0] for i in indexes)
    harm = tuple(counts.get(i, (0, 0))[1] for i in indexes)
    seasonal: tuple[int, ...] = ()
    if known >= SEASON_WINDOWS:
        seasonal = tuple(counts.get(i, (0, 0))[1] for i in seasonal_indexes())
    return History(volume=volume, harm=harm, seasonal=seasonal, windows=known)
