"""The score and the tier: eight components in [0, 1], weighted, then floors and hysteresis.

Spike and velocity measure harm, not attention: they count the window's harmful mentions
(`window.harmful`) against the harm of the watchlist's own history, and count in full only
when harm is at least `HARM_SHARE_FULL` of the window (a wave of praise brings its own few
critics; that is attention). Which history depends on how much there is (`History.kind`):
none yet, absolute evidence only; the windows since the first mention, up to 24 hours; with
a week, also the same time of day on each of the previous seven days, and the less
surprising of the two tests counts, so a daily ramp-up is not a spike and neither is a
level the last day has already seen.
"""

import math
from dataclasses import dataclass

from libs.contracts.enums import Tier
from libs.forecast.model import TIER_FLOORS
from services.analysis import spikes
from services.analysis.crisis_type import TYPE_SEVERITY
from services.analysis.window import VELOCITY_SPAN, WINDOW, BaselineKind, WindowStats

VELOCITY_SPANS_PER_WINDOW = WINDOW / VELOCITY_SPAN
MIN_VOLUME = 5
HYSTERESIS = 10.0
# A ratio of 2**RATIO_OCTAVES (16x) against the baseline saturates spike and velocity.
RATIO_OCTAVES = 4.0
# A rise the spike test does not find unusual for this series counts for this much.
UNPROVEN_SPIKE = 0.25
# Without a baseline (under two hours since the first mention) harm is compared with the
# minimum volume: five harmful mentions per window is the least that counts at all.
ABSOLUTE_HARM = float(MIN_VOLUME)
# Spike and velocity count in full once harm is this share of the window, and in
# proportion below it: at 10 % harm a twelvefold wave counts a third.
HARM_SHARE_FULL = 0.3
# log10 of the audience that saturates reach: ten million followers and views.
REACH_DECADES = 7.0
MEDIA_AMPLIFICATION = 1.0
KOL_AMPLIFICATION = 0.6
# Sensitive terms count fully once this many negative mentions carry them.
SENSITIVE_MENTIONS = 3
# Crisis type counts fully once this share of the window's mentions carries cues for it.
CRISIS_SHARE = 0.3
# Complaint clustering saturates when this many distinct users say the same negative thing.
CLUSTER_AUTHORS = 10

WEIGHTS: dict[str, float] = {
    "spike": 0.22,
    "negative_share": 0.18,
    "velocity": 0.10,
    "reach": 0.12,
    "amplification": 0.12,
    "sensitive": 0.10,
    "crisis_type": 0.08,
    "clustering": 0.08,
}
# Shared with the incident forecast, which projects the score across the same floors.
FLOORS: dict[Tier, float] = TIER_FLOORS
NO_TIER = "none"


@dataclass(frozen=True)
class Components:
    """The score components, each in [0, 1], with the tests and ratios behind them."""

    spike: float
    negative_share: float
    velocity: float
    reach: float
    amplification: float
    sensitive: float
    crisis_type: float
    clustering: float
    spike_test: spikes.SpikeTest
    story_test: spikes.SpikeTest | None
    expected_recent: float
    velocity_ratio: float
    baseline_kind: BaselineKind = BaselineKind.RECENT
    recent_test: spikes.SpikeTest | None = None
    seasonal_test: spikes.SpikeTest | None = None
    harm_share: float = 0.0
    harm_weight: float = 1.0
    volume_ratio: float = 0.0

    def values(self) -> dict[str, float]:
        """Return the weighted components by name."""
        return {name: float(getattr(self, name)) for name in WEIGHTS}

    def score(self) -> float:
        """Return the weighted score on a 0–100 scale."""
        return round(100.0 * sum(v * WEIGHTS[n] for n, v in self.values().items()), 2)


def rank(tier: Tier | None) -> int:
    """Return -1 for no tier, else the tier's rank (blue 0 … red 3)."""
    return -1 if tier is None else tier.rank


def parse_tier(value: str | None) -> Tier | None:
    """Read a stored tier; NULL and "none" mean no tier."""
    return None if value is None or value == NO_TIER else Tier(value)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _ratio_component(ratio: float) -> float:
    return _clamp(math.log2(ratio) / RATIO_OCTAVES) if ratio > 1 else 0.0


def _spike_component(test: spikes.SpikeTest) -> float:
    strength = _ratio_component(test.ratio)
    return strength if test.is_spike else strength * UNPROVEN_SPIKE


def _mean(values: tuple[int, ...]) -> float:
    return sum(values) / len(values) if values else 0.0


def _harm_tests(
    stats: WindowStats,
) -> tuple[spikes.SpikeTest, spikes.SpikeTest, spikes.SpikeTest | None]:
    """Return (the test that counts, the recent one, the seasonal one or None)."""
    history = stats.history
    # The velocity span's harm lets the test check that the rise is still going on.
    last_span = stats.recent_harm_count
    recent = spikes.test_window(stats.harm_count, history.harm, recent=last_span)
    if history.kind is not BaselineKind.SEASONAL:
        return recent, recent, None
    seasonal = spikes.test_window(stats.harm_count, history.seasonal, recent=last_span)
    # The less surprising counts: unusual against the last day and for this time of day.
    chosen = seasonal if seasonal.p_value > recent.p_value else recent
    return chosen, recent, seasonal


def components(stats: WindowStats) -> Components:
    """Compute every component of the score from the window's figures."""
    history = stats.history
    kind = history.kind
    spike_test, recent_test, seasonal_test = _harm_tests(stats)
    story_test = None
    harm_share = stats.harm_count / stats.window_count if stats.window_count else 0.0
    harm_weight = min(1.0, harm_share / HARM_SHARE_FULL)
    if kind is BaselineKind.NONE:
        spike = _ratio_component(stats.harm_count / ABSOLUTE_HARM)
        per_window = ABSOLUTE_HARM
    else:
        spike = _spike_component(spike_test)
        if stats.top_story is not None:
            story_test = spikes.test_window(stats.top_story.harm_count, stats.top_story.baseline)
            spike = max(spike, _spike_component(story_test))
        per_window = max(_mean(history.harm), _mean(history.seasonal))
    expected_recent = max(1.0, per_window / VELOCITY_SPANS_PER_WINDOW)
    velocity_ratio = stats.recent_harm_count / expected_recent
    volume_ratio = 0.0
    if kind is not BaselineKind.NONE:
        volume_ratio = stats.window_count / spikes.estimate(history.volume)[0]
    negative_share = stats.negative_count / stats.window_count if stats.window_count else 0.0
    audience = max(0, stats.followers) + max(0, stats.views)
    if stats.media_authors:
        amplification = MEDIA_AMPLIFICATION
    elif stats.kol_authors:
        amplification = KOL_AMPLIFICATION
    else:
        amplification = 0.0
    sensitive = stats.sensitive_max * min(1.0, stats.sensitive_mentions / SENSITIVE_MENTIONS)
    crisis = 0.0
    if stats.crisis_type is not None and stats.window_count:
        share = stats.crisis_mentions / stats.window_count
        crisis = TYPE_SEVERITY[stats.crisis_type] * min(1.0, share / CRISIS_SHARE)
    cluster = stats.top_story.negative_authors / CLUSTER_AUTHORS if stats.top_story else 0.0
    return Components(
        spike=round(spike * harm_weight, 4),
        negative_share=round(_clamp(negative_share), 4),
        velocity=round(_ratio_component(velocity_ratio) * harm_weight, 4),
        reach=round(_clamp(math.log10(1 + audience) / REACH_DECADES), 4),
        amplification=amplification,
        sensitive=round(_clamp(sensitive), 4),
        crisis_type=round(_clamp(crisis), 4),
        clustering=round(_clamp(cluster), 4),
        spike_test=spike_test,
        story_test=story_test,
        expected_recent=round(expected_recent, 4),
        velocity_ratio=round(velocity_ratio, 2),
        baseline_kind=kind,
        recent_test=recent_test,
        seasonal_test=seasonal_test,
        harm_share=round(harm_share, 4),
        harm_weight=round(harm_weight, 4),
        volume_ratio=round(volume_ratio, 2),
    )


def tier_for(score: float, window_count: int) -> Tier | None:
    """Return the tier a score reaches, capped at blue below the minimum volume."""
    tier = next((t for t, floor in FLOORS.items() if score >= floor), None)
    if tier is not None and window_count < MIN_VOLUME and rank(tier) > rank(Tier.BLUE):
        return Tier.BLUE
    return tier


def with_hysteresis(previous: Tier | None, raw: Tier | None, score: float) -> Tier | None:
    """Rise at once; drop only once the score is HYSTERESIS points below the current floor."""
    if previous is None or rank(raw) >= rank(previous):
        return raw
    return raw if score < FLOORS[previous] - HYSTERESIS else previous


def next_tier(tier: Tier | None) -> Tier | None:
    """Return the tier above `tier`, or None above red."""
    order = list(Tier)
    position = rank(tier) + 1
    return order[position] if position < len(order) else None
