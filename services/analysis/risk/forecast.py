"""The forecast: when a watchlist would reach the next tier if mentions keep coming as now."""

from dataclasses import dataclass, replace
from typing import Any

from libs.contracts.enums import Tier
from services.analysis.risk.score import components, next_tier, rank, tier_for
from services.analysis.window import VELOCITY_SPAN, WINDOW, WindowStats

# How far ahead the forecast looks; at a steady rate the window levels off after one WINDOW.
FORECAST_HORIZON_MINUTES = 15
# The window's counts that grow with its volume; a projection scales them with it.
VOLUME_COUNTS = (
    "negative_count",
    "harm_count",
    "positive_count",
    "followers",
    "views",
    "sensitive_mentions",
    "crisis_mentions",
)


@dataclass(frozen=True)
class Forecast:
    """When the watchlist would reach the next tier if mentions keep coming at today's pace."""

    next_tier: Tier
    rate_per_minute: float
    eta_minutes: int | None
    projected_score: float

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON stored with the signal."""
        return {
            "next_tier": self.next_tier.value,
            "rate_per_minute": self.rate_per_minute,
            "eta_minutes": self.eta_minutes,
            "projected_score": self.projected_score,
        }


def _scaled(stats: WindowStats, count: int) -> WindowStats:
    """Return the window as it would look holding `count` mentions in the same proportions."""
    if stats.window_count == 0:
        return stats
    factor = count / stats.window_count

    def scale(value: int) -> int:
        return round(value * factor)

    story = stats.top_story
    if story is not None:
        story = replace(
            story,
            window_count=scale(story.window_count),
            harm_count=scale(story.harm_count),
            negative_authors=scale(story.negative_authors),
        )
    scaled: dict[str, Any] = {name: scale(getattr(stats, name)) for name in VOLUME_COUNTS}
    return replace(stats, window_count=count, top_story=story, **scaled)


def forecast(stats: WindowStats, tier: Tier | None) -> Forecast | None:
    """Project the window forward at the last five minutes' pace, minute by minute.

    At a steady rate r the 15-minute window converges to 15·r mentions: older ones leave as
    new ones arrive. The mix (negative share, reach per mention, sensitive share) is held
    as it is now. Returns None when already red or when nothing is arriving.
    """
    target = next_tier(tier)
    if target is None or stats.recent_count == 0:
        return None
    rate = stats.recent_count / (VELOCITY_SPAN.total_seconds() / 60)
    window_minutes = WINDOW.total_seconds() / 60
    steady = rate * window_minutes
    projected = 0.0
    for minute in range(1, FORECAST_HORIZON_MINUTES + 1):
        progress = min(1.0, minute / window_minutes)
        count = round(stats.window_count + (steady - stats.window_count) * progress)
        future = replace(
            _scaled(stats, max(count, 0)),
            recent_count=stats.recent_count,
            recent_harm_count=stats.recent_harm_count,
        )
        projected = components(future).score()
        if rank(tier_for(projected, future.window_count)) >= rank(target):
            return Forecast(target, round(rate, 2), minute, projected)
    return Forecast(target, round(rate, 2), None, projected)
