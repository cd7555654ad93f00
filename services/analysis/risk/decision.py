"""The decision: a watchlist's window scored, its tier chosen, explained and forecast."""

from dataclasses import dataclass, field
from typing import Any

from libs.contracts.enums import Tier
from services.analysis import spikes
from services.analysis.risk.forecast import Forecast, forecast
from services.analysis.risk.reasons import baseline_detail, reasons
from services.analysis.risk.score import (
    NO_TIER,
    WEIGHTS,
    Components,
    components,
    rank,
    tier_for,
    with_hysteresis,
)
from services.analysis.window import WindowStats


@dataclass(frozen=True)
class Decision:
    """The tier a watchlist should have now, and why."""

    previous: Tier | None
    tier: Tier | None
    raw_tier: Tier | None
    score: float
    components: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    forecast: Forecast | None = None
    spike_fired: bool = False

    @property
    def changed(self) -> bool:
        """Return whether the tier differs from the stored one (a signal is recorded)."""
        return self.tier != self.previous

    @property
    def raised(self) -> bool:
        """Return whether the tier rose into crisis territory (incidents must hear of it)."""
        return (
            self.tier is not None
            and self.tier.opens_incident
            and rank(self.tier) > rank(self.previous)
        )


def spike_fired(stats: WindowStats, parts: Components) -> bool:
    """Return whether this window is a new spike of harm, outside the last one's cooldown.

    A spike counts its harmful mentions (what the cooldown compares) and fires only when
    harm fills enough of the window to count in full: a wave of praise is not recorded as
    a spike, so it does not raise the bar for a real one after it.
    """
    return (
        parts.spike_test.is_spike
        and parts.harm_weight >= 1.0
        and not spikes.in_cooldown(
            stats.last_spike_count, stats.windows_since_spike, stats.harm_count, spikes.DEFAULT
        )
    )


def assess(stats: WindowStats, previous: Tier | None) -> Decision:
    """Score a watchlist's window and decide its tier, given the tier it has now."""
    parts = components(stats)
    score = parts.score()
    raw = tier_for(score, stats.window_count)
    tier = with_hysteresis(previous, raw, score)
    fired = spike_fired(stats, parts)
    # Only a stored decision shows a forecast; skipping it otherwise keeps decisions cheap.
    prediction = forecast(stats, tier) if tier != previous else None
    detail: dict[str, Any] = {
        **parts.values(),
        "weights": dict(WEIGHTS),
        "window_count": stats.window_count,
        "negative_count": stats.negative_count,
        "positive_count": stats.positive_count,
        "recent_count": stats.recent_count,
        "harm_count": stats.harm_count,
        "recent_harm_count": stats.recent_harm_count,
        "harm_share": parts.harm_share,
        "harm_weight": parts.harm_weight,
        "volume_ratio": parts.volume_ratio,
        "baseline": baseline_detail(stats.history),
        "baseline_count": stats.baseline_count,
        "baseline_harm_count": stats.baseline_harm,
        "baseline_windows": len(stats.baseline),
        "spike_test": _test_detail(parts.spike_test),
        "recent_spike_test": _test_detail(parts.recent_test) if parts.recent_test else None,
        "seasonal_spike_test": _test_detail(parts.seasonal_test) if parts.seasonal_test else None,
        "story_spike_test": _test_detail(parts.story_test) if parts.story_test else None,
        "spike_fired": fired,
        "expected_recent": parts.expected_recent,
        "velocity_ratio": parts.velocity_ratio,
        "followers": stats.followers,
        "views": stats.views,
        "media_authors": list(stats.media_authors),
        "kol_authors": list(stats.kol_authors),
        "sensitive_max": stats.sensitive_max,
        "sensitive_mentions": stats.sensitive_mentions,
        "sensitive_terms": list(stats.sensitive_terms),
        "dominant_crisis_type": stats.crisis_type.value if stats.crisis_type else None,
        "crisis_mentions": stats.crisis_mentions,
        "crisis_evidence": list(stats.crisis_evidence),
        "top_story_id": str(stats.top_story.story_id) if stats.top_story else None,
        "top_story_count": stats.top_story.window_count if stats.top_story else 0,
        "cluster_authors": stats.top_story.negative_authors if stats.top_story else 0,
        "raw_tier": raw.value if raw else NO_TIER,
        "previous_tier": previous.value if previous else NO_TIER,
    }
    return Decision(
        previous=previous,
        tier=tier,
        raw_tier=raw,
        score=score,
        components=detail,
        reasons=reasons(stats, parts, score, previous, tier, prediction),
        forecast=prediction,
        spike_fired=fired,
    )


def _test_detail(test: spikes.SpikeTest) -> dict[str, Any]:
    return {
        "count": test.count,
        "expected": round(test.expected, 3),
        "variance": round(test.variance, 3),
        "ratio": round(test.ratio, 2),
        "p_value": test.p_value,
        "is_spike": test.is_spike,
        "reason": test.reason,
    }
