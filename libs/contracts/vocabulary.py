"""The words two or more services show people: Chinese labels, and which states count as what.

Incidents writes them into timelines and review documents, notify into chat cards, the
gateway into its figures. Defined once here so a tier, a status or a role reads the same in
every place a person meets it, and "closed" or "overdue" means the same everywhere.
"""

from datetime import datetime

from libs.contracts.enums import (
    Channel,
    CrisisType,
    FollowUpKind,
    IncidentStatus,
    PageReason,
    ReviewStage,
    Sentiment,
    Source,
    StatementStatus,
    TaskStatus,
    TeamRole,
    Tier,
    WatchlistKind,
)

TIER_SEVERITY: dict[Tier, str] = {
    Tier.BLUE: "关注",
    Tier.YELLOW: "轻度",
    Tier.ORANGE: "中度",
    Tier.RED: "严重",
}
"""How grave a tier is, as the response plan names it (轻度/中度/严重 — seed 002)."""

TIER_COLOURS: dict[Tier, str] = {
    Tier.BLUE: "蓝色",
    Tier.YELLOW: "黄色",
    Tier.ORANGE: "橙色",
    Tier.RED: "红色",
}
"""A tier as a warning colour (红色预警)."""

TIER_MARKS: dict[Tier, str] = {
    Tier.BLUE: "🔵",
    Tier.YELLOW: "🟡",
    Tier.ORANGE: "🟠",
    Tier.RED: "🔴",
}

STATUS_LABELS: dict[IncidentStatus, str] = {
    IncidentStatus.DETECTED: "已发现",
    IncidentStatus.ACKNOWLEDGED: "已确认",
    IncidentStatus.ASSESSING: "评估中",
    IncidentStatus.RESPONDING: "处置中",
    IncidentStatus.RECOVERING: "恢复中",
    IncidentStatus.RESOLVED: "已解决",
    IncidentStatus.CLOSED: "已关闭",
    IncidentStatus.MERGED: "已合并",
    IncidentStatus.FALSE_ALARM: "误报",
}

ROLE_LABELS: dict[TeamRole, str] = {
    TeamRole.MONITOR: "舆情监测员",
    TeamRole.ANALYST: "数据分析师",
    TeamRole.CUSTOMER_SERVICE: "客服专员",
    TeamRole.SPOKESPERSON: "新闻发言人",
    TeamRole.LEGAL: "法务",
    TeamRole.COMMANDER: "总指挥",
}

PAGE_REASON_LABELS: dict[PageReason, str] = {
    PageReason.INCIDENT_OPENED: "新事件值班接警",
    PageReason.TASK_OVERDUE: "任务超时升级",
}

CHANNEL_LABELS: dict[Channel, str] = {
    Channel.WECHAT: "微信公众号",
    Channel.WEIBO: "微博",
    Channel.DOUYIN: "抖音",
    Channel.XIAOHONGSHU: "小红书",
    Channel.WEBSITE: "官网",
}

SOURCE_LABELS: dict[Source, str] = {
    Source.WEIBO: "微博",
    Source.WECHAT: "微信",
    Source.DOUYIN: "抖音",
    Source.XIAOHONGSHU: "小红书",
    Source.ZHIHU: "知乎",
    Source.NEWS: "新闻网站",
    Source.FORUM: "论坛",
    Source.COMPLAINT: "投诉渠道",
    Source.OTHER: "其他平台",
}

WATCHLIST_KIND_LABELS: dict[WatchlistKind, str] = {
    WatchlistKind.OWN_BRAND: "本品牌",
    WatchlistKind.PRODUCT_LINE: "产品线",
    WatchlistKind.COMPETITOR: "竞品",
    WatchlistKind.INDUSTRY: "行业",
}

CRISIS_TYPE_LABELS: dict[CrisisType, str] = {
    CrisisType.MISINFORMATION: "不实信息",
    CrisisType.INTERACTION_FAILURE: "互动失当",
    CrisisType.OPERATIONAL_ERROR: "运营失误",
    CrisisType.PRODUCT_QUALITY: "产品质量",
    CrisisType.CUSTOMER_SERVICE: "客户服务",
    CrisisType.BRAND_IMAGE: "品牌形象",
    CrisisType.DATA_LEAK: "网络安全/数据泄露",
}

STATEMENT_STATUS_LABELS: dict[StatementStatus, str] = {
    StatementStatus.DRAFT: "草稿",
    StatementStatus.IN_REVIEW: "审核中",
    StatementStatus.APPROVED: "已批准",
    StatementStatus.PUBLISHED: "已发布",
    StatementStatus.REJECTED: "已驳回",
}

REVIEW_STAGE_LABELS: dict[ReviewStage, str] = {
    ReviewStage.LEVEL_1: "一级审核",
    ReviewStage.LEVEL_2: "二级审核",
    ReviewStage.LEVEL_3: "三级审核",
    ReviewStage.LEGAL: "法务审核",
}

FOLLOW_UP_KIND_LABELS: dict[FollowUpKind, str] = {
    FollowUpKind.FOLLOW_UP: "回访",
    FollowUpKind.COMPENSATION: "补偿",
}

SENTIMENT_LABELS: dict[Sentiment, str] = {
    Sentiment.POSITIVE: "正面",
    Sentiment.NEUTRAL: "中性",
    Sentiment.NEGATIVE: "负面",
}

CLOSED_STATUSES: frozenset[IncidentStatus] = frozenset(
    status for status in IncidentStatus if not status.is_open
)
"""Statuses new signals no longer join: resolved, closed, merged, false alarm."""

OPEN_STATUSES: frozenset[IncidentStatus] = frozenset(IncidentStatus) - CLOSED_STATUSES

FINAL_STATUSES: frozenset[IncidentStatus] = frozenset(
    {IncidentStatus.CLOSED, IncidentStatus.MERGED, IncidentStatus.FALSE_ALARM}
)
"""Statuses after which nothing changes any more: no team, no statements, no tasks."""

NOT_DONE_TASK_STATUSES: frozenset[TaskStatus] = frozenset({TaskStatus.OPEN, TaskStatus.OVERDUE})


def values(statuses: frozenset[IncidentStatus] | frozenset[TaskStatus]) -> tuple[str, ...]:
    """Return the stored values of `statuses`, sorted, for SQL `IN` lists."""
    return tuple(sorted(status.value for status in statuses))


def is_overdue(
    status: TaskStatus, due_at: datetime | None, breached_at: datetime | None, at: datetime
) -> bool:
    """Return whether a task is overdue at `at`: not done, and found breached or past due.

    `libs.database.predicates.task_overdue` is the same rule in SQL; a test holds them equal.
    """
    if status is TaskStatus.DONE:
        return False
    return (
        status is TaskStatus.OVERDUE
        or breached_at is not None
        or (due_at is not None and due_at < at)
    )
