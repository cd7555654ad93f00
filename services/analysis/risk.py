"""The risk model: from a watchlist's recent mentions to an explainable score, tier and forecast.

Pure functions over `WindowStats`, which `window.py` builds from the same rows in the live
worker and in a backtest, so both decide identically and every number can be checked
without a database. The score is a weighted sum of eight components in [0, 1]; the tier
follows the score with a minimum volume and with hysteresis, so a watchlist hovering at a
boundary does not flap between tiers.
"""

import math
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from libs.contracts.enums import CrisisType, Tier
from services.analysis import spikes
from services.analysis.crisis_type import TYPE_SEVERITY

WINDOW = timedelta(minutes=15)
BASELINE_WINDOWS = 96
BASELINE_SPAN = WINDOW * BASELINE_WINDOWS
VELOCITY_SPAN = timedelta(minutes=5)
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
# How far ahead the forecast looks; at a steady rate the window levels off after one WINDOW.
FORECAST_HORIZON_MINUTES = 15

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
TIER_NAMES: dict[Tier | None, str] = {
    None: "无",
    Tier.BLUE: "蓝色",
    Tier.YELLOW: "黄色",
    Tier.ORANGE: "橙色",
    Tier.RED: "红色",
}
CRISIS_NAMES: dict[CrisisType, str] = {
    CrisisType.MISINFORMATION: "不实信息",
    CrisisType.INTERACTION_FAILURE: "互动失控",
    CrisisType.OPERATIONAL_ERROR: "运营失误",
    CrisisType.PRODUCT_QUALITY: "产品质量",
    CrisisType.CUSTOMER_SERVICE: "客户服务",
    CrisisType.BRAND_IMAGE: "品牌形象",
    CrisisType.DATA_LEAK: "网络安全/数据泄露",
}


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
            negative_authors=scale(story.negative_authors),
        )
    return replace(
        stats,
        window_count=count,
        negative_count=scale(stats.negative_count),
        followers=scale(stats.followers),
        views=scale(stats.views),
        sensitive_mentions=scale(stats.sensitive_mentions),
        crisis_mentions=scale(stats.crisis_mentions),
        top_story=story,
    )


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
        future = replace(_scaled(stats, max(count, 0)), recent_count=stats.recent_count)
        projected = components(future).score()
        if rank(tier_for(projected, future.window_count)) >= rank(target):
            return Forecast(target, round(rate, 2), minute, projected)
    return Forecast(target, round(rate, 2), None, projected)


def spike_fired(stats: WindowStats, test: spikes.SpikeTest) -> bool:
    """Return whether this window is a new spike, outside the cooldown of the last one."""
    return test.is_spike and not spikes.in_cooldown(
        stats.last_spike_count, stats.windows_since_spike, stats.window_count, spikes.DEFAULT
    )


def assess(stats: WindowStats, previous: Tier | None) -> Decision:
    """Score a watchlist's window and decide its tier, given the tier it has now."""
    parts = components(stats)
    score = parts.score()
    raw = tier_for(score, stats.window_count)
    tier = with_hysteresis(previous, raw, score)
    fired = spike_fired(stats, parts.spike_test)
    # Only a stored decision shows a forecast; skipping it otherwise keeps decisions cheap.
    prediction = forecast(stats, tier) if tier != previous else None
    detail: dict[str, Any] = {
        **parts.values(),
        "weights": dict(WEIGHTS),
        "window_count": stats.window_count,
        "negative_count": stats.negative_count,
        "recent_count": stats.recent_count,
        "baseline_count": stats.baseline_count,
        "baseline_windows": len(stats.baseline),
        "spike_test": _test_detail(parts.spike_test),
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
    prediction: Forecast | None = None,
) -> list[str]:
    """Explain a decision in the words a duty monitor reads (Chinese)."""
    minutes = int(WINDOW.total_seconds() // 60)
    test = parts.spike_test
    lines = [f"风险分 {score:.0f}：{TIER_NAMES[previous]} → {TIER_NAMES[tier]}"]
    if parts.spike > 0:
        verdict = "显著突增" if test.is_spike else "未达显著"
        lines.append(
            f"声量为基线的 {test.ratio:.0f} 倍（{minutes} 分钟内 {stats.window_count} 条，"
            f"基线期望 {test.expected:.1f} 条，{verdict}，p={test.p_value:.1e}）"
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
    if stats.sensitive_terms:
        lines.append(
            f"敏感词：{'、'.join(stats.sensitive_terms)}（{stats.sensitive_mentions} 条负面提及）"
        )
    if stats.crisis_type is not None:
        evidence = "、".join(stats.crisis_evidence)
        lines.append(f"危机类型：{CRISIS_NAMES[stats.crisis_type]}（依据：{evidence}）")
    if stats.top_story is not None and stats.top_story.negative_authors >= 2:
        lines.append(
            f"投诉集中：同一话题 {stats.top_story.window_count} 条，"
            f"{stats.top_story.negative_authors} 位用户负面发声"
        )
    if stats.window_count < MIN_VOLUME and score >= FLOORS[Tier.YELLOW]:
        lines.append(
            f"{minutes} 分钟内仅 {stats.window_count} 条，未达最低声量 {MIN_VOLUME} 条，最高为蓝色"
        )
    if previous is not None and rank(tier) < rank(previous):
        lines.append(
            f"分数低于{TIER_NAMES[previous]}下限 {FLOORS[previous]:.0f} 减 {HYSTERESIS:.0f}，降级"
        )
    if prediction is not None and prediction.eta_minutes is not None:
        lines.append(
            f"预测：按当前每分钟 {prediction.rate_per_minute:.1f} 条的速度，"
            f"约 {prediction.eta_minutes} 分钟后升至{TIER_NAMES[prediction.next_tier]}"
        )
    return lines
