"""The score and the tier: eight components in [0, 1], weighted, then floors and hysteresis."""

import math
from dataclasses import dataclass

from libs.contracts.enums import Tier
from services.analysis import spikes
from services.analysis.crisis_type import TYPE_SEVERITY
from services.analysis.window import VELOCITY_SPAN, WINDOW, WindowStats

VELOCITY_SPANS_PER_WINDOW = WINDOW / VELOCITY_SPAN
MIN_VOLUME = 5
HYSTERESIS = 10.0
# A ratio of 2**RATIO_OCTAVES (16x) against the baseline saturates spike and velocity.
RATIO_OCTAVES = 4.0
# A rise the spike test does not find unusual for this series counts for this much.
UNPROVEN_SPIKE = 0.25
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
FLOORS: dict[Tier, float] = {Tier.RED: 75.0, Tier.ORANGE: 55.0, Tier.YELLOW: 35.0, Tier.BLUE: 15.0}
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


def components(stats: WindowStats) -> Components:
    """Compute every component of the score from the window's figures."""
    spike_test = spikes.test_window(stats.window_count, stats.baseline)
    story_test = (
        spikes.test_window(stats.top_story.window_count, stats.top_story.baseline)
        if stats.top_story is not None
        else None
    )
    spike = _spike_component(spike_test)
    if story_test is not None:
        spike = max(spike, _spike_component(story_test))
    per_window = stats.baseline_count / max(1, len(stats.baseline))
    expected_recent = max(1.0, per_window / VELOCITY_SPANS_PER_WINDOW)
    velocity_ratio = stats.recent_count / expected_recent
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
        spike=round(spike, 4),
        negative_share=round(_clamp(negative_share), 4),
        velocity=round(_ratio_component(velocity_ratio), 4),
        reach=round(_clamp(math.log10(1 + audience) / REACH_DECADES), 4),
        amplification=amplification,
        sensitive=round(_clamp(sensitive), 4),
        crisis_type=round(_clamp(crisis), 4),
        clustering=round(_clamp(cluster), 4),
        spike_test=spike_test,
        story_test=story_test,
        expected_recent=round(expected_recent, 4),
        velocity_ratio=round(velocity_ratio, 2),
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
