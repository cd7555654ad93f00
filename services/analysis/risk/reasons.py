"""The reasons of a decision, in the words a duty monitor reads (Chinese)."""

from libs.contracts.enums import CrisisType, Tier
from services.analysis.risk.forecast import Forecast
from services.analysis.risk.score import FLOORS, HYSTERESIS, MIN_VOLUME, Components, rank
from services.analysis.window import WINDOW, WindowStats

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
