"""The risk model: from a watchlist's recent volume to an explainable score and tier.

Pure functions over `WindowStats` (gathered by `repository.window_stats`), so every number
can be checked without a database. The score is a weighted sum of five components in
[0, 1]; the tier follows the score with a minimum volume and with hysteresis, so a
watchlist hovering at a boundary does not flap between tiers.
"""

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from libs.contracts.enums import Tier

WINDOW = timedelta(minutes=15)
BASELINE_SPAN = timedelta(hours=24)
VELOCITY_SPAN = timedelta(minutes=5)
WINDOWS_PER_BASELINE = BASELINE_SPAN / WINDOW
VELOCITY_SPANS_PER_BASELINE = BASELINE_SPAN / VELOCITY_SPAN
MIN_VOLUME = 5
HYSTERESIS = 10.0
# A ratio of 2**RATIO_OCTAVES (16x) against the baseline saturates spike and velocity.
RATIO_OCTAVES = 4.0
# log10 of the audience that saturates reach: ten million followers and views.
REACH_DECADES = 7.0
MEDIA_AMPLIFICATION = 1.0
KOL_AMPLIFICATION = 0.6

WEIGHTS: dict[str, float] = {
    "spike": 0.30,
    "negative_share": 0.25,
    "velocity": 0.15,
    "reach": 0.15,
    "amplification": 0.15,
}
FLOORS: dict[Tier, float] = {Tier.RED: 75.0, Tier.ORANGE: 55.0, Tier.YELLOW: 35.0, Tier.BLUE: 15.0}
NO_TIER = "none"
TIER_NAMES: dict[Tier | None, str] = {
    None: "无",
    Tier.BLUE: "蓝色",
    Tier.YELLOW: "黄色",
    Tier.ORANGE: "橙色",
    Tier.RED: "红色",
}


@dataclass(frozen=True)
class WindowStats:
    """What happened to one watchlist in the window ending now and the 24 h before it."""

    window_start: datetime
    window_end: datetime
    window_count: int
    negative_count: int
    recent_count: int
    baseline_count: int
    followers: int = 0
    views: int = 0
    media_authors: tuple[str, ...] = ()
    kol_authors: tuple[str, ...] = ()
    top_mention_ids: tuple[uuid.UUID, ...] = ()


@dataclass(frozen=True)
class Components:
    """The five score components, each in [0, 1], with the ratios behind them."""

    spike: float
    negative_share: float
    velocity: float
    reach: float
    amplification: float
    baseline_per_window: float
    spike_ratio: float
    expected_recent: float
    velocity_ratio: float

    def score(self) -> float:
        """Return the weighted score on a 0–100 scale."""
        total = sum(float(getattr(self, name)) * weight for name, weight in WEIGHTS.items())
        return round(100.0 * total, 2)


@dataclass(frozen=True)
class Decision:
    """The tier a watchlist should have now, and why."""

    previous: Tier | None
    tier: Tier | None
    raw_tier: Tier | None
    score: float
    components: dict[str, Any]
    reasons: list[str] = field(default_factory=list)

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


def window_bounds(now: datetime) -> tuple[datetime, datetime, datetime, datetime]:
    """Return (baseline start, window start, velocity start, window end) for `now`."""
    window_start = now - WINDOW
    return window_start - BASELINE_SPAN, window_start, now - VELOCITY_SPAN, now


def rank(tier: Tier | None) -> int:
    """Return -1 for no tier, else the tier's rank (blue 0 … red 3)."""
    return -1 if tier is None else tier.rank


def parse_tier(value: str | None) -> Tier | None:
    """Read a stored tier; NULL and "none" mean no tier."""
    return None if value is None or value == NO_TIER else Tier(value)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _ratio_component(ratio: float) -> float:
    return _clamp(math.log2(ratio) / RATIO_OCTAVES) if ratio > 0 else 0.0


def components(stats: WindowStats) -> Components:
    """Compute every component of the score from the window's counts."""
    baseline = max(1.0, stats.baseline_count / WINDOWS_PER_BASELINE)
    spike_ratio = stats.window_count / baseline
    expected_recent = max(1.0, stats.baseline_count / VELOCITY_SPANS_PER_BASELINE)
    velocity_ratio = stats.recent_count / expected_recent
    negative_share = stats.negative_count / stats.window_count if stats.window_count else 0.0
    audience = max(0, stats.followers) + max(0, stats.views)
    if stats.media_authors:
        amplification = MEDIA_AMPLIFICATION
    elif stats.kol_authors:
        amplification = KOL_AMPLIFICATION
    else:
        amplification = 0.0
    return Components(
        spike=round(_ratio_component(spike_ratio), 4),
        negative_share=round(_clamp(negative_share), 4),
        velocity=round(_ratio_component(velocity_ratio), 4),
        reach=round(_clamp(math.log10(1 + audience) / REACH_DECADES), 4),
        amplification=amplification,
        baseline_per_window=round(baseline, 4),
        spike_ratio=round(spike_ratio, 2),
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


def assess(stats: WindowStats, previous: Tier | None) -> Decision:
    """Score a watchlist's window and decide its tier, given the tier it has now."""
    parts = components(stats)
    score = parts.score()
    raw = tier_for(score, stats.window_count)
    tier = with_hysteresis(previous, raw, score)
    detail: dict[str, Any] = {
        "spike": parts.spike,
        "negative_share": parts.negative_share,
        "velocity": parts.velocity,
        "reach": parts.reach,
        "amplification": parts.amplification,
        "weights": dict(WEIGHTS),
        "window_count": stats.window_count,
        "negative_count": stats.negative_count,
        "recent_count": stats.recent_count,
        "baseline_count": stats.baseline_count,
        "baseline_per_window": parts.baseline_per_window,
        "spike_ratio": parts.spike_ratio,
        "expected_recent": parts.expected_recent,
        "velocity_ratio": parts.velocity_ratio,
        "followers": stats.followers,
        "views": stats.views,
        "media_authors": list(stats.media_authors),
        "kol_authors": list(stats.kol_authors),
        "raw_tier": raw.value if raw else NO_TIER,
        "previous_tier": previous.value if previous else NO_TIER,
    }
    return Decision(
        previous=previous,
        tier=tier,
        raw_tier=raw,
        score=score,
        components=detail,
        reasons=reasons(stats, parts, score, previous, tier),
    )


def _audience(count: int) -> str:
    if count >= 100_000_000:
        return f"{count / 100_000_000:.1f} 亿"
    if count >= 10_000:
        return f"{count / 10_000:.0f} 万"
    return str(count)


def reasons(
    stats: WindowStats,
    parts: Components,
    score: float,
    previous: Tier | None,
    tier: Tier | None,
) -> list[str]:
    """Explain a decision in the words a duty monitor reads (Chinese)."""
    minutes = int(WINDOW.total_seconds() // 60)
    lines = [f"风险分 {score:.0f}：{TIER_NAMES[previous]} → {TIER_NAMES[tier]}"]
    if parts.spike > 0:
        lines.append(
            f"声量为基线的 {parts.spike_ratio:.0f} 倍（{minutes} 分钟内 {stats.window_count} 条，"
            f"基线每 {minutes} 分钟 {parts.baseline_per_window:.1f} 条）"
        )
    if stats.window_count:
        lines.append(
            f"负面占比 {parts.negative_share:.0%} ({stats.negative_count}/{stats.window_count})"
        )
    if parts.velocity > 0:
        lines.append(f"近 5 分钟 {stats.recent_count} 条，为常态的 {parts.velocity_ratio:.0f} 倍")
    if stats.followers or stats.views:
        lines.append(
            f"触达约 {_audience(stats.followers + stats.views)}"
            f"（粉丝 {_audience(stats.followers)}，浏览 {_audience(stats.views)}）"
        )
    if stats.media_authors:
        lines.append(f"媒体账号 {'、'.join(stats.media_authors)} 参与")
    if stats.kol_authors:
        lines.append(f"意见领袖 {'、'.join(stats.kol_authors)} 参与")
    if stats.window_count < MIN_VOLUME and score >= FLOORS[Tier.YELLOW]:
        lines.append(
            f"{minutes} 分钟内仅 {stats.window_count} 条，未达最低声量 {MIN_VOLUME} 条，最高为蓝色"
        )
    if previous is not None and rank(tier) < rank(previous):
        lines.append(
            f"分数低于{TIER_NAMES[previous]}下限 {FLOORS[previous]:.0f} 减 {HYSTERESIS:.0f}，降级"
        )
    return lines
