"""Vocabularies shared by every service and the API; stored as their string values."""

from enum import StrEnum


class Source(StrEnum):
    """Where a mention was posted."""

    WEIBO = "weibo"
    WECHAT = "wechat"
    DOUYIN = "douyin"
    XIAOHONGSHU = "xiaohongshu"
    ZHIHU = "zhihu"
    NEWS = "news"
    FORUM = "forum"
    COMPLAINT = "complaint"
    OTHER = "other"


class WatchlistKind(StrEnum):
    """What a watchlist watches: the organization itself, or the market around it.

    Own-brand and product-line watchlists open incidents; competitor and industry ones are
    analysed alike (scores, tiers, signals) but only feed share of voice and reports.
    """

    OWN_BRAND = "own_brand"
    PRODUCT_LINE = "product_line"
    COMPETITOR = "competitor"
    INDUSTRY = "industry"

    @property
    def opens_incidents(self) -> bool:
        """Return whether this kind's crises are the organization's own to handle."""
        return self in (WatchlistKind.OWN_BRAND, WatchlistKind.PRODUCT_LINE)


class AuthorKind(StrEnum):
    """What kind of account posted: media and KOL accounts amplify a story."""

    USER = "user"
    KOL = "kol"
    MEDIA = "media"


class Sentiment(StrEnum):
    """Polarity of a mention (积极 / 中立 / 消极)."""

    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


class CrisisType(StrEnum):
    """Kinds of crisis (DESIGN.md; seed 002 §一, seed 004 §二, seed 003 §2.1)."""

    MISINFORMATION = "misinformation"
    INTERACTION_FAILURE = "interaction_failure"
    OPERATIONAL_ERROR = "operational_error"
    PRODUCT_QUALITY = "product_quality"
    CUSTOMER_SERVICE = "customer_service"
    BRAND_IMAGE = "brand_image"
    DATA_LEAK = "data_leak"


class SensitiveCategory(StrEnum):
    """Categories of the sensitive-term lexicon (敏感词库)."""

    SAFETY = "safety"
    INJURY_DEATH = "injury_death"
    DATA_LEAK = "data_leak"
    REGULATOR = "regulator"
    RIGHTS = "rights"
    LEGAL = "legal"


class Tier(StrEnum):
    """Risk tier, in rising order of severity."""

    BLUE = "blue"
    YELLOW = "yellow"
    ORANGE = "orange"
    RED = "red"

    @property
    def rank(self) -> int:
        """Return 0 for blue up to 3 for red, for comparisons."""
        return list(Tier).index(self)

    @property
    def opens_incident(self) -> bool:
        """Return whether this tier is a crisis (yellow and above) rather than a watch."""
        return self.rank >= Tier.YELLOW.rank


class IncidentStatus(StrEnum):
    """Where an incident is in its life."""

    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    ASSESSING = "assessing"
    RESPONDING = "responding"
    RECOVERING = "recovering"
    RESOLVED = "resolved"
    CLOSED = "closed"
    MERGED = "merged"
    FALSE_ALARM = "false_alarm"

    @property
    def is_open(self) -> bool:
        """Return whether new signals should still join this incident."""
        return self not in _CLOSED_STATUSES


_CLOSED_STATUSES = frozenset(
    {
        IncidentStatus.RESOLVED,
        IncidentStatus.CLOSED,
        IncidentStatus.MERGED,
        IncidentStatus.FALSE_ALARM,
    }
)


class TaskStatus(StrEnum):
    """State of a response task."""

    OPEN = "open"
    DONE = "done"
    OVERDUE = "overdue"


class Role(StrEnum):
    """What an API key may do; each role includes the ones before it except ingest."""

    INGEST = "ingest"
    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"


class TeamRole(StrEnum):
    """Roles on an incident's team (seed 002 §三(一)2), in escalation order, lowest first."""

    MONITOR = "monitor"
    ANALYST = "analyst"
    CUSTOMER_SERVICE = "customer_service"
    SPOKESPERSON = "spokesperson"
    LEGAL = "legal"
    COMMANDER = "commander"


class PageReason(StrEnum):
    """Why a person on duty was paged to an incident."""

    INCIDENT_OPENED = "incident_opened"
    TASK_OVERDUE = "task_overdue"


class Channel(StrEnum):
    """Where a statement is published, each with its role (DESIGN.md, Response)."""

    WECHAT = "wechat"
    WEIBO = "weibo"
    DOUYIN = "douyin"
    XIAOHONGSHU = "xiaohongshu"
    WEBSITE = "website"


class StatementStatus(StrEnum):
    """A statement's way from draft to publication (三级审核)."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"


class StatementStage(StrEnum):
    """Which statement of an incident's life a draft is (seed 002 §三(二)1)."""

    FIRST_RESPONSE = "first_response"
    DETAILED_REPLY = "detailed_reply"
    CLOSING_NOTICE = "closing_notice"


class ReviewStage(StrEnum):
    """The review levels a statement passes; legal only for red incidents."""

    LEVEL_1 = "level_1"
    LEVEL_2 = "level_2"
    LEVEL_3 = "level_3"
    LEGAL = "legal"


class ReviewDecision(StrEnum):
    """A reviewer's answer."""

    APPROVE = "approve"
    REJECT = "reject"


class ContactKind(StrEnum):
    """What kind of contact detail an affected user gave."""

    PHONE = "phone"
    EMAIL = "email"
    ID_CARD = "id_card"
    OTHER = "other"


class FollowUpKind(StrEnum):
    """What is owed to an affected user."""

    FOLLOW_UP = "follow_up"
    COMPENSATION = "compensation"


class PartnerKind(StrEnum):
    """What a third party is to the organization (第三方合作方)."""

    AGENCY = "agency"
    KOL = "kol"
    DISTRIBUTOR = "distributor"
    SUPPLIER = "supplier"
    MEDIA = "media"
    OTHER = "other"


class PartnerStatus(StrEnum):
    """Where a partner stands in one incident: to be told, told, or aligned on the statement."""

    TO_INFORM = "to_inform"
    INFORMED = "informed"
    ALIGNED = "aligned"


class EvidencePurpose(StrEnum):
    """Who an evidence bundle is for: a platform's report desk (举报), legal counsel, or both."""

    PLATFORM_REPORT = "platform_report"
    LEGAL = "legal"
    BOTH = "both"


class ImprovementStatus(StrEnum):
    """Where an improvement a review committed to stands (复盘 → 整改).

    `reopened` is kept for actions a recurrence reopened before statuses were tracked.
    """

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    DROPPED = "dropped"
    REOPENED = "reopened"

    @property
    def finished(self) -> bool:
        """Done, verified or dropped: a recurrence leaves it alone."""
        return self in (
            ImprovementStatus.DONE,
            ImprovementStatus.VERIFIED,
            ImprovementStatus.DROPPED,
        )


class DrillScenario(StrEnum):
    """What a drill plays (定期模拟演练): a scripted crisis, or a past incident's mentions."""

    PRODUCT_SAFETY = "product_safety"
    DATA_LEAK = "data_leak"
    RUMOUR = "rumour"
    REPLAY = "replay"


class DrillDelivery(StrEnum):
    """What notify does with a drill's events: send nothing, or send them marked 【演练】."""

    SUPPRESS = "suppress"
    LABEL = "label"


class DrillState(StrEnum):
    """Whether a drill is still being played and handled, or ended with its score card."""

    RUNNING = "running"
    ENDED = "ended"


class EventType(StrEnum):
    """Events integrators can subscribe to; names are stable across versions."""

    INCIDENT_OPENED = "incident.opened"
    INCIDENT_TIER_CHANGED = "incident.tier_changed"
    INCIDENT_STATUS_CHANGED = "incident.status_changed"
    TASK_OVERDUE = "task.overdue"
    STATEMENT_PUBLISHED = "statement.published"
    REVIEW_COMPLETED = "review.completed"
    RISK_CHECK_COMPLETED = "risk_check.completed"
    QUIET_PERIOD_STARTED = "quiet_period.started"
    QUIET_PERIOD_ENDED = "quiet_period.ended"
    SITUATION_REPORT_SENT = "situation_report.sent"
    IMPROVEMENT_OVERDUE = "improvement.overdue"
    PERSON_PAGED = "person.paged"
    FOLLOW_UP_OVERDUE = "follow_up.overdue"
    FORECAST_DEADLINE_AT_RISK = "forecast.deadline_at_risk"


class ForecastTrend(StrEnum):
    """Where an incident's pace is heading: its mentions grow, hold or fall."""

    RISING = "rising"
    FLAT = "flat"
    FALLING = "falling"


class DeadlineThreat(StrEnum):
    """What a forecast expects before a deadline, putting it at risk."""

    NEXT_TIER = "next_tier"
    PEAK = "peak"


class EndpointKind(StrEnum):
    """How events reach an endpoint: Standard Webhooks, or a chat group bot's own scheme."""

    STANDARD = "standard"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    FEISHU = "feishu"
