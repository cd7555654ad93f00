"""Spike detection (爆点识别): is this window's count surprising against the series' own past?

Mention counts are over-dispersed: the daily cycle, news days and reposting cascades make
the variance of a watchlist's 15-minute counts many times its mean. A Poisson test (variance
= mean) therefore calls every busy hour a spike, and a z-score on the plain mean and standard
deviation is both wrong in the tail for small counts and inflated by the last spike in the
baseline. The default test is a negative-binomial tail whose mean and variance come from a
robust summary of the baseline (a trimmed mean and the interquartile range), with the variance
floored at the mean so it never claims less noise than Poisson. The Poisson and z-score tests
are kept here, selectable in `SpikeConfig.test`, so the evaluation compares the tests with
everything else (estimation floors, minimum volume, ratio, cooldown) held equal.

A window spikes when the tail test is significant at `alpha`, the count reaches `min_volume`
and `min_ratio` times the expected count, the rise still holds in the window's last velocity
span (when the caller knows it), and the window clears the fading memory of the last spike.

The memory is what keeps a monitor from crying wolf. Mention series are bursty far beyond any
count model fitted to one day (on real brand series one window in fifty outside the labelled
anomalies has p <= 1e-3), and most alerts after the first are the same story again: tomorrow's
peak of today's news, a second wave of reposts. So after a spike of S mentions a window is a
new spike only when it is at least `escalation` x S, a bar that halves every
`cooldown_windows`: four times the last spike right after it, twice a day later, as large as
it a day after that. A story that grows is news at once; a new story as loud as the last
is news once the last has faded. The previous rule (a fixed `cooldown_windows` within which
a spike must double, nothing after) is kept as `memory="fixed"` for the evaluation.
`docs/spikes.md` measures the choices on labelled real brand-mention series.
"""

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

Test = Literal["negbin", "poisson", "zscore"]
Estimator = Literal["robust", "moments"]
Memory = Literal["fading", "fixed"]

# The IQR of a normal distribution is 1.349 standard deviations.
IQR_PER_SD = 1.349


@dataclass(frozen=True)
class SpikeConfig:
    """How one series is tested; the defaults suit 15-minute windows of a watchlist.

    `escalation` and `cooldown_windows`: after a spike, a window spikes again only when its
    count is at least `escalation` times the last spike's, a bar that halves every
    `cooldown_windows` windows (`memory="fading"`); with `memory="fixed"` the bar is
    `escalation` times the last spike within `cooldown_windows` and gone after.
    `persist_ratio`: the window's last velocity span (one of `spans_per_window`) must hold at
    least this many times its share of the expected count, so a burst that is already over
    when the window closes does not count; callers that do not know the span skip the check.
    `min_expected` floors the expected count, so a silent baseline does not make one mention
    infinitely surprising; `min_baseline_windows` is the history needed before any test.
    """

    baseline_windows: int = 96
    alpha: float = 1e-3
    min_volume: int = 5
    min_ratio: float = 2.0
    cooldown_windows: int = 96
    escalation: float = 4.0
    memory: Memory = "fading"
    persist_ratio: float = 2.0
    spans_per_window: int = 3
    test: Test = "negbin"
    estimator: Estimator = "robust"
    trim: float = 0.1
    min_expected: float = 0.5
    min_baseline_windows: int = 8
    surprise_cap: float = 12.0


DEFAULT = SpikeConfig()


@dataclass(frozen=True)
class SpikeTest:
    """The verdict on one window, with the numbers a person needs to check it."""

    count: int
    expected: float
    variance: float
    ratio: float
    p_value: float
    surprise: float
    is_spike: bool
    reason: str


# Reasons, checked in this order; the first that applies is reported.
SHORT_BASELINE = "short_baseline"
BELOW_MIN_VOLUME = "below_min_volume"
NOT_SIGNIFICANT = "not_significant"
BELOW_MIN_RATIO = "below_min_ratio"
NOT_PERSISTENT = "not_persistent"
COOLDOWN = "cooldown"
SPIKE = "spike"


def _quantile(ordered: np.ndarray, q: float) -> float:
    position = q * (ordered.size - 1)
    low = math.floor(position)
    high = min(low + 1, ordered.size - 1)
    return float(ordered[low] + (ordered[high] - ordered[low]) * (position - low))


def estimate(baseline: Sequence[int], config: SpikeConfig = DEFAULT) -> tuple[float, float]:
    """Return (expected, variance) per window from the baseline, floored as documented.

    The robust estimate trims `trim` of the windows at each end for the mean and takes the
    spread from the interquartile range, so a spike that fills up to a quarter of the
    baseline does not raise the bar for the next one.
    """
    values = np.asarray(baseline, dtype=np.float64)
    if values.size == 0:
        return config.min_expected, config.min_expected
    if config.estimator == "moments":
        mean = float(values.mean())
        variance = float(values.var(ddof=1)) if values.size > 1 else mean
    else:
        # One sort serves both; the same results as scipy.stats.trim_mean and np.quantile
        # (linear interpolation) at a fraction of their per-call overhead.
        ordered = np.sort(values)
        cut = int(config.trim * ordered.size)
        mean = float(ordered[cut : ordered.size - cut].mean())
        variance = ((_quantile(ordered, 0.75) - _quantile(ordered, 0.25)) / IQR_PER_SD) ** 2
    expected = max(mean, config.min_expected)
    return expected, max(variance, expected)


def tail_p_value(count: int, expected: float, variance: float, test: Test) -> float:
    """Return P(X >= count) under the chosen model of the window's count."""
    if count <= 0:
        return 1.0
    if test == "zscore":
        return float(stats.norm.sf((count - expected) / math.sqrt(variance)))
    if test == "poisson" or variance <= expected * (1.0 + 1e-9):
        return float(stats.poisson.sf(count - 1, expected))
    # scipy's nbinom(n, p) has mean n(1-p)/p and variance n(1-p)/p**2.
    p = expected / variance
    n = expected * p / (1.0 - p)
    return float(stats.nbinom.sf(count - 1, n, p))


def _surprise(p_value: float, cap: float) -> float:
    if p_value <= 0.0:
        return cap
    return round(min(cap, max(0.0, -math.log10(p_value))), 4)


def test_window(
    count: int,
    baseline: Sequence[int],
    config: SpikeConfig = DEFAULT,
    recent: int | None = None,
) -> SpikeTest:
    """Test one window's count against the windows before it (oldest first, any length).

    Only the last `config.baseline_windows` windows are used. With fewer than
    `min_baseline_windows` there is no test: p-value 1, reason "short_baseline". `recent`
    is the count of the window's last velocity span; without it the rise is not checked for
    persistence. The last spike's memory is not applied here; see `in_cooldown` and
    `SpikeDetector`.
    """
    history = baseline[-config.baseline_windows :] if config.baseline_windows > 0 else []
    expected, variance = estimate(history, config)
    ratio = round(count / expected, 4)
    if len(history) < config.min_baseline_windows:
        return SpikeTest(count, expected, variance, ratio, 1.0, 0.0, False, SHORT_BASELINE)
    p_value = tail_p_value(count, expected, variance, config.test)
    surprise = _surprise(p_value, config.surprise_cap)
    if count < config.min_volume:
        reason = BELOW_MIN_VOLUME
    elif p_value > config.alpha:
        reason = NOT_SIGNIFICANT
    elif ratio < config.min_ratio:
        reason = BELOW_MIN_RATIO
    elif recent is not None and recent < config.persist_ratio * expected / config.spans_per_window:
        reason = NOT_PERSISTENT
    else:
        reason = SPIKE
    return SpikeTest(count, expected, variance, ratio, p_value, surprise, reason == SPIKE, reason)


# pytest would otherwise collect the public `test_window` as a test wherever it is imported.
test_window.__test__ = False  # type: ignore[attr-defined]


def in_cooldown(
    last_spike_count: int | None,
    windows_since: int | None,
    count: int,
    config: SpikeConfig = DEFAULT,
) -> bool:
    """Return whether a significant window is held back by the memory of the last spike.

    `windows_since` is 1 for the window right after the spike. The window is held back
    when its count is below `escalation` times the last spike's count, halved for every
    `cooldown_windows` since (`memory="fading"`), or, with `memory="fixed"`, within
    `cooldown_windows` only: the same story growing again is news, staying loud is not.
    """
    if last_spike_count is None or windows_since is None or config.cooldown_windows <= 0:
        return False
    if config.memory == "fixed":
        if windows_since > config.cooldown_windows:
            return False
        return count < config.escalation * last_spike_count
    fade: float = 0.5 ** (windows_since / config.cooldown_windows)
    return count < config.escalation * last_spike_count * fade


class SpikeDetector:
    """One series, window by window: its own trailing baseline and the cooldown."""

    def __init__(self, config: SpikeConfig = DEFAULT) -> None:
        self.config = config
        self._history: deque[int] = deque(maxlen=max(config.baseline_windows, 0))
        self._last_spike_count: int | None = None
        self._windows_since: int | None = None

    def step(self, count: int, recent: int | None = None) -> SpikeTest:
        """Test the next window's count (and its last span's, if known), then keep it.

        Every window, spike or not, joins the baseline: the robust estimate, not the
        detector, keeps past spikes from masking new ones.
        """
        if self._windows_since is not None:
            self._windows_since += 1
        result = test_window(count, list(self._history), self.config, recent)
        self._history.append(count)
        if not result.is_spike:
            return result
        if in_cooldown(self._last_spike_count, self._windows_since, count, self.config):
            return SpikeTest(
                result.count,
                result.expected,
                result.variance,
                result.ratio,
                result.p_value,
                result.surprise,
                False,
                COOLDOWN,
            )
        self._last_spike_count = count
        self._windows_since = 0
        return result
