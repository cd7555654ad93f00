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
