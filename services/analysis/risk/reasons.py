"""The reasons of a decision, in the words a duty monitor reads (Chinese)."""

from datetime import timedelta
from typing import Any

from libs.contracts.enums import CrisisType, Tier
from services.analysis.risk.forecast import Forecast
from services.analysis.risk.score import (
    ABSOLUTE_HARM,
    FLOORS,
    HYSTERESIS,
    MIN_VOLUME,
    Components,
    rank,
)
from services.analysis.window import (
    BASELINE_SPAN,
    MIN_HISTORY_WINDOWS,
    SEASON_DAYS,
    WINDOW,
    BaselineKind,
    History,
    WindowStats,
)

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


def _audience(count: int) -> str:
    if count >= 100_000_000:
        return f"{count / 100_000_000:.1f} 亿"
    if count >= 10_000:
        return f"{count / 10_000:.0f} 万"
    return str(count)


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g}"


def baseline_detail(history: History) -> dict[str, Any]:
    """Name the baseline a decision used, for its stored components."""
    kind = history.kind
    if kind is BaselineKind.NONE:
        label = "no baseline yet: absolute evidence only"
    elif kind is BaselineKind.SEASONAL:
        label = f"baseline: same time of day over {SEASON_DAYS} days, and the last 24 h"
    elif history.span >= BASELINE_SPAN:
        label = "baseline: last 24 h"
    else:
        label = f"baseline: {_hours(history.span)} h since first mention"
    return {
        "kind": kind.value,
        "label": label,
        "history_windows": history.windows,
        "recent_windows": len(history.harm),
        "seasonal_windows": len(history.seasonal),
    }


def _baseline_line(history: History) -> str:
    kind = history.kind
    if kind is BaselineKind.NONE:
        needed = _hours(WINDOW * MIN_HISTORY_WINDOWS)
        return f"尚无基线（首次提及以来不足 {needed} 小时）：仅依据绝对证据"
    if kind is BaselineKind.SEASONAL:
        return f"基线：过去 {SEASON_DAYS} 天同一时段，及近 24 小时"
    if history.span >= BASELINE_SPAN:
        return "基线：近 24 小时"
    return f"基线：首次提及以来 {_hours(history.span)} 小时"


def _harm_line(stats: WindowStats, parts: Components, minutes: int) -> str:
    test = parts.spike_test
    if parts.baseline_kind is BaselineKind.NONE:
        return (
            f"风险声量 {stats.harm_count} 条（{minutes} 分钟内负面或含敏感词），"
            f"为无基线时参照值 {ABSOLUTE_HARM:.0f} 条的 {stats.harm_count / ABSOLUTE_HARM:.1f} 倍"
        )
    verdict = "显著突增" if test.is_spike else "未达显著"
    against = "同时段" if test is parts.seasonal_test else ""
    return (
        f"风险声量为{against}基线的 {test.ratio:.0f} 倍（{minutes} 分钟内 {stats.harm_count} 条"
        f"负面或含敏感词，基线期望 {test.expected:.1f} 条，{verdict}，p={test.p_value:.1e}）"
    )


def _attention_line(stats: WindowStats, parts: Components) -> str | None:
    """Say when a rise is attention rather than harm, which is why it counts for less."""
    if parts.harm_weight >= 1.0 or stats.window_count < MIN_VOLUME:
        return None
    positive = stats.positive_count / stats.window_count
    rose = f"声量为基线的 {parts.volume_ratio:.0f} 倍，但" if parts.volume_ratio >= 2 else ""
    return (
        f"{rose}其中 {positive:.0%} 为正面，风险声量仅占 {parts.harm_share:.0%}"
        f"（{stats.harm_count}/{stats.window_count}）：关注度而非危害，"
        f"突增与速度按 {parts.harm_weight:.0%} 计"
    )


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
    lines = [f"风险分 {score:.0f}：{TIER_NAMES[previous]} → {TIER_NAMES[tier]}"]
    lines.append(_baseline_line(stats.history))
    if parts.spike > 0:
        lines.append(_harm_line(stats, parts, minutes))
    attention = _attention_line(stats, parts)
    if attention is not None:
        lines.append(attention)
    if stats.window_count:
        lines.append(
            f"负面占比 {parts.negative_share:.0%} ({stats.negative_count}/{stats.window_count})"
        )
    if parts.velocity > 0:
        recent = stats.recent_harm_count
        lines.append(f"近 5 分钟风险声量 {recent} 条，为常态的 {parts.velocity_ratio:.0f} 倍")
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
