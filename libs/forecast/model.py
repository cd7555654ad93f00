"""The incident forecast: where a crisis goes at its current pace, and which deadlines it beats.

Method. The input is the watchlist's mentions in consecutive 15-minute windows ending now
(the window the risk score is computed over), up to an hour back. The level is the last
window's count; the growth rate g₀ (per hour) is the median of the window-to-window changes
of log(count + 1), shrunk towards 0 by its uncertainty (`trusted_growth`), so that one step
in the talk is not read as steady growth. Growth is then damped: the log growth rate relaxes
from g₀ towards a natural decay d with time constant τ,

    g(t) = d + (g₀ − d)·e^(−t/τ),   log r(t) = log r₀ + d·t + (g₀ − d)·τ·(1 − e^(−t/τ)).

Why damped: a crisis does not grow for ever, and the bench streams' waves stop within the
hour; τ and d were chosen on the tuning streams of `bench/forecast_error.py` and judged on
held-out ones. With d < 0 a growing crisis has a peak, at t = τ·ln((g₀ − d)/(−d)), which is
what the first statement is compared with; a falling one peaked already.

Reach adds up: the median audience per mention of the last hour's windows, times the
mentions projected, added to the reach gathered since detection. The tier follows the risk
score, anchored at the last tier decision (its score and its window's count): the score's
volume-driven parts (spike and velocity, log₂ of the ratio to the baseline; reach, log₁₀ of
the audience) move it by about `SCORE_PER_DOUBLING` points each time the window's volume
doubles, the composition of the talk (negative share, media, sensitive terms, crisis type)
held as it is; a tier is left downwards only 10 points under its floor, as the analysis
service leaves it.

Pure: no clock, no database; `libs.forecast.inputs` reads the trajectory.
"""

import itertools
import math
import statistics
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from libs.contracts.enums import DeadlineThreat, ForecastTrend, Tier

WINDOW = timedelta(minutes=15)
"""The width of one window of the trajectory, the risk score's own window."""
LOOKBACK_WINDOWS = 4
"""How many windows the pace is fitted on: the last hour."""
HORIZONS = (timedelta(hours=1), timedelta(hours=4))
"""The horizons a forecast states tier and reach for."""
SEARCH_LIMIT = timedelta(hours=4)
"""How far ahead the next tier and the peak are looked for."""
DAMPING = timedelta(minutes=15)
"""τ: the time constant over which today's growth rate fades. Chosen, with the decay, on the
tuning streams of `bench/forecast_error.py` (the fastest of the dampings tried there)."""
DECAY_PER_HOUR = -math.log(2) / 0.5
"""d: how the rate falls once the wave is over (attention halves every half hour)."""
FLAT_PER_HOUR = 0.1
"""Growth below this (about +10 % an hour) counts as flat: no next tier is promised."""
SCORE_PER_DOUBLING = 8.5
"""Score points a doubling of the window's volume adds: spike 0.22·25 + velocity 0.10·25 +
reach 0.12·100·log₁₀2/7 (the weights and saturations of the analysis risk score)."""
TIER_FLOORS: dict[Tier, float] = {
    Tier.RED: 75.0,
    Tier.ORANGE: 55.0,
    Tier.YELLOW: 35.0,
    Tier.BLUE: 15.0,
}
"""The score at which each tier starts (the analysis service scores with the same floors)."""
MIN_VOLUME = 5
"""Below this many mentions in a window no tier above blue is given."""
TIER_HYSTERESIS = 10.0
"""A tier is left downwards only once the score is this far below its floor; it is entered
upwards at once (the analysis service's hysteresis, which the forecast tier follows)."""
_STEP = timedelta(minutes=1)
_WINDOW_HOURS = WINDOW / timedelta(hours=1)


@dataclass(frozen=True)
class Anchor:
    """The last tier decision: its score and the mentions in the window it scored."""

    score: float
    window_count: int


@dataclass(frozen=True)
class Deadline:
    """An open task's deadline."""

    task_id: uuid.UUID
    kind: str
    title: str
    due_at: datetime


@dataclass(frozen=True)
class Trajectory:
    """What the forecast is made from, read at `now`."""

    now: datetime
    tier: Tier
    counts: Sequence[int]
    """Mentions in consecutive 15-minute windows, the last one ending at `now`, oldest first."""
    reaches: Sequence[int]
    """The audience (views) of the same windows."""
    reach_so_far: int
    anchor: Anchor | None = None
    deadlines: Sequence[Deadline] = ()


@dataclass(frozen=True)
class Projection:
    """Tier and reach expected `after` from now."""

    after: timedelta
    tier: Tier | None
    score: float
    mentions_per_window: float
    reach: int


@dataclass(frozen=True)
class DeadlineAtRisk:
    """A deadline the crisis is expected to beat: the next tier or its peak comes first."""

    deadline: Deadline
    threat: DeadlineThreat
    threat_at: datetime

    def time_left(self, now: datetime) -> timedelta:
        """Return how long until the deadline, from `now`."""
        return self.deadline.due_at - now


@dataclass(frozen=True)
class Forecast:
    """At the current pace: tier and reach in 1 h and 4 h, the next tier, the peak, the risks."""

    now: datetime
    tier: Tier
    growth_per_hour: float
    projections: tuple[Projection, ...]
    next_tier: Tier | None
    time_to_next_tier: timedelta | None
    time_to_peak: timedelta | None
    at_risk: tuple[DeadlineAtRisk, ...] = field(default=())

    @property
    def trend(self) -> ForecastTrend:
        """Return whether the crisis grows, holds or falls at its current pace."""
        if self.growth_per_hour >= FLAT_PER_HOUR:
            return ForecastTrend.RISING
        if self.growth_per_hour <= -FLAT_PER_HOUR:
            return ForecastTrend.FALLING
        return ForecastTrend.FLAT

    @property
    def peak_at(self) -> datetime | None:
        """Return when the projected peak comes, or None when it is not ahead."""
        return None if self.time_to_peak is None else self.now + self.time_to_peak

    def projection(self, after: timedelta) -> Projection:
        """Return the projection for one of `HORIZONS`."""
        return next(p for p in self.projections if p.after == after)


def tier_for(score: float, window_count: float) -> Tier | None:
    """Return the tier a score reaches, capped at blue below the minimum volume."""
    tier = next((t for t, floor in TIER_FLOORS.items() if score >= floor), None)
    if tier is not None and window_count < MIN_VOLUME and tier.rank > Tier.BLUE.rank:
        return Tier.BLUE
    return tier


def held_tier(previous: Tier | None, score: float, window_count: float) -> Tier | None:
    """Return the tier after `previous` at this score, with the analysis's hysteresis."""
    raw = tier_for(score, window_count)
    if previous is None or _rank(raw) >= previous.rank:
        return raw
    return raw if score < TIER_FLOORS[previous] - TIER_HYSTERESIS else previous


def _rank(tier: Tier | None) -> int:
    return -1 if tier is None else tier.rank


def fit(counts: Sequence[int]) -> tuple[float, float]:
    """Return (level now, growth per hour): the last window, and the median change between windows.

    The level is the last window's count as it stands: a line through the windows would
    carry a step that just happened past where it is. The growth is the median of the
    window-to-window changes of log(count + 1), not a least-squares slope: a crisis that
    jumps once and then holds (5, 5, 60, 60) has one large change and two none, and a slope
    reads that single step as steady growth while the median reads it as a level that has
    stopped moving. A single window gives no growth.
    """
    recent = list(counts[-LOOKBACK_WINDOWS:])
    if not recent:
        return 0.0, 0.0
    changes = _changes(recent)
    if not changes:
        return float(recent[-1]), 0.0
    return float(recent[-1]), statistics.median(changes) / _WINDOW_HOURS


def trusted_growth(counts: Sequence[int]) -> float:
    """Return the growth per hour of `fit`, shrunk towards 0 by how uncertain it is.

    The median change g is weighed by g² / (g² + se²), where se² is the variance of a
    change over the number of changes: at least the counting noise of the windows (a
    count n is Poisson, so log(n + 1) varies by about 1 / (n + 1)), more when the changes
    disagree with each other. A steady doubling of hundreds of posts keeps its growth; a
    rise from 2 to 5 posts, or changes that jump about, are trusted little — the forecast
    then leans on the pace holding, which is what the naive guess does and does well.
    """
    recent = list(counts[-LOOKBACK_WINDOWS:])
    changes = _changes(recent)
    if not changes:
        return 0.0
    growth = statistics.median(changes)
    noise = statistics.fmean(
        1 / (before + 1) + 1 / (after + 1) for before, after in itertools.pairwise(recent)
    )
    spread = statistics.variance(changes) if len(changes) > 1 else 0.0
    variance = max(noise, spread) / len(changes)
    if growth == 0:
        return 0.0
    return growth * growth**2 / (growth**2 + variance) / _WINDOW_HOURS


def _changes(counts: Sequence[int]) -> list[float]:
    """Return the changes of log(count + 1) from each window to the next."""
    return [math.log((after + 1) / (before + 1)) for before, after in itertools.pairwise(counts)]


def audience_per_mention(counts: Sequence[int], reaches: Sequence[int]) -> float:
    """Return the median, over the windows with mentions, of the audience per mention.

    Audience is heavy-tailed: one post that goes viral can bring a window a hundred times
    the views of the others, and a mean over the hour carries that post into every
    mention ahead. That post is already counted in the reach so far; the mentions to come
    are expected to be like the typical one. The median is also the estimate that the
    absolute error, which the forecast is judged by, is smallest around.
    """
    per_window = [
        reach / count
        for count, reach in zip(
            counts[-LOOKBACK_WINDOWS:], reaches[-LOOKBACK_WINDOWS:], strict=True
        )
        if count > 0
    ]
    return statistics.median(per_window) if per_window else 0.0


def log_factor(growth: float, hours: float) -> float:
    """Return log(r(t)/r₀) after `hours` under the damped model, starting at `growth`."""
    tau = DAMPING / timedelta(hours=1)
    return DECAY_PER_HOUR * hours + (growth - DECAY_PER_HOUR) * tau * (1 - math.exp(-hours / tau))


def time_to_peak(growth: float) -> timedelta | None:
    """Return when the damped rate peaks, or None when growth is not under way."""
    if growth < FLAT_PER_HOUR:
        return None
    tau = DAMPING / timedelta(hours=1)
    hours = tau * math.log((growth - DECAY_PER_HOUR) / -DECAY_PER_HOUR)
    return timedelta(hours=hours)


def _score(anchor: Anchor, mentions: float) -> float:
    """Return the score the anchor's window would have with `mentions` in it."""
    ratio = max(mentions, 0.5) / max(anchor.window_count, 1)
    return max(0.0, min(100.0, anchor.score + SCORE_PER_DOUBLING * math.log2(ratio)))


def _anchor(trajectory: Trajectory, level: float) -> Anchor:
    """Return the trajectory's anchor; without one, the tier's floor at today's level."""
    if trajectory.anchor is not None:
        return trajectory.anchor
    return Anchor(TIER_FLOORS[trajectory.tier], max(1, round(level)))


def forecast(trajectory: Trajectory) -> Forecast:
    """Project the trajectory forward (module docstring) and weigh its open deadlines."""
    level, _ = fit(trajectory.counts)
    growth = trusted_growth(trajectory.counts)
    anchor = _anchor(trajectory, level)
    reach_per_mention = audience_per_mention(trajectory.counts, trajectory.reaches)
    step_hours = _STEP / timedelta(hours=1)
    windows_per_step = _STEP / WINDOW
    target = _next_tier(trajectory.tier)
    reached: timedelta | None = None
    projections: list[Projection] = []
    mentions_added = 0.0
    steps = int(SEARCH_LIMIT / _STEP)
    tier: Tier | None = trajectory.tier
    for step in range(1, steps + 1):
        hours = step * step_hours
        rate = level * math.exp(log_factor(growth, hours))
        mentions_added += rate * windows_per_step
        score = _score(anchor, rate)
        tier = held_tier(tier, score, rate)
        after = step * _STEP
        if (
            reached is None
            and target is not None
            and growth >= FLAT_PER_HOUR
            and tier is not None
            and tier.rank >= target.rank
        ):
            reached = after
        if after in HORIZONS:
            reach = trajectory.reach_so_far + round(mentions_added * reach_per_mention)
            projections.append(Projection(after, tier, round(score, 1), round(rate, 1), reach))
    peak = time_to_peak(growth)
    if peak is not None and peak > SEARCH_LIMIT:
        peak = None
    result = Forecast(
        now=trajectory.now,
        tier=trajectory.tier,
        growth_per_hour=round(growth, 3),
        projections=tuple(projections),
        next_tier=target,
        time_to_next_tier=reached,
        time_to_peak=peak,
    )
    return _with_risks(result, trajectory.deadlines)


def _next_tier(tier: Tier) -> Tier | None:
    order = list(Tier)
    return order[tier.rank + 1] if tier.rank + 1 < len(order) else None


def _with_risks(result: Forecast, deadlines: Sequence[Deadline]) -> Forecast:
    """Return the forecast with every open deadline that the next tier or the peak beats."""
    threats: list[tuple[DeadlineThreat, datetime]] = []
    if result.time_to_next_tier is not None:
        threats.append((DeadlineThreat.NEXT_TIER, result.now + result.time_to_next_tier))
    if result.peak_at is not None:
        threats.append((DeadlineThreat.PEAK, result.peak_at))
    at_risk = []
    for deadline in sorted(deadlines, key=lambda d: (d.due_at, d.kind)):
        if deadline.due_at <= result.now:
            continue
        first = min(
            ((threat, at) for threat, at in threats if at < deadline.due_at),
            key=lambda pair: pair[1],
            default=None,
        )
        if first is not None:
            at_risk.append(DeadlineAtRisk(deadline, first[0], first[1]))
    return replace(result, at_risk=tuple(at_risk))
