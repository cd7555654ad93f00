"""The shared vocabularies, registered as GraphQL enums under their own names.

Registering decorates the classes from `libs.contracts.enums` in place, so resolvers use
the very same classes the services store and send.
"""

from enum import Enum

import strawberry

from libs import quotas
from libs.contracts.enums import (
    AuthorKind,
    Channel,
    ContactKind,
    CrisisType,
    EndpointKind,
    EventType,
    FollowUpKind,
    IncidentStatus,
    ReviewDecision,
    ReviewStage,
    SensitiveCategory,
    Sentiment,
    Source,
    StatementStatus,
    TaskStatus,
    TeamRole,
    Tier,
    WatchlistKind,
)

strawberry.enum(AuthorKind, description="What kind of account posted.")
strawberry.enum(
    CrisisType,
    description=(
        "Kind of crisis (危机类型): misinformation (谣言), interaction failure (互动失当), "
        "operational error (运营失误), product quality (产品质量), customer service (客服), "
        "brand image (品牌形象), data leak (数据泄露)."
    ),
)
strawberry.enum(IncidentStatus, description="Where an incident is in its life.")
strawberry.enum(
    SensitiveCategory,
    description="Category of a sensitive term (敏感词): what kind of risk the word signals.",
)
strawberry.enum(Sentiment, description="Polarity of a mention (积极 / 中立 / 消极).")
strawberry.enum(Source, description="Where a mention was posted.")
strawberry.enum(TaskStatus, description="State of a response task.")
strawberry.enum(Tier, description="Risk tier, from blue (watch) to red (severe).")
strawberry.enum(
    WatchlistKind,
    description=(
        "What a watchlist watches: own brand (本品牌) and product line (产品线) open incidents; "
        "competitor (竞品) and industry (行业) watchlists are analysed and tiered alike but "
        "only feed share of voice and reports, never an incident."
    ),
)
strawberry.enum(
    TeamRole,
    description=(
        "A role on an incident's team, lowest first: monitor (监测), analyst (研判), customer "
        "service (客服), spokesperson (发言人), legal (法务), commander (总指挥)."
    ),
)
strawberry.enum(Channel, description="Where a statement is published.")
strawberry.enum(StatementStatus, description="A statement's way from draft to publication.")
strawberry.enum(
    ReviewStage,
    description="A review level of a statement (三级审核); legal review only for red incidents.",
)
strawberry.enum(ReviewDecision, description="A reviewer's answer.")
strawberry.enum(ContactKind, description="What kind of contact detail an affected user gave.")
strawberry.enum(FollowUpKind, description="What is owed to an affected user.")
strawberry.enum(
    EventType,
    description="An event integrators subscribe to; the value is the `type` in payloads.",
)
strawberry.enum(
    EndpointKind,
    description=(
        "How events reach an endpoint: Standard Webhooks, or a WeCom (企业微信), DingTalk (钉钉) "
        "or Feishu/Lark (飞书) group bot."
    ),
)


@strawberry.enum(
    name="ErrorCode",
    description=(
        "What kind of refusal a mutation answered, for code to branch on; the `message` is "
        "for people and may change wording."
    ),
)
class RefusalCode(Enum):
    """The machine code every refusal carries (`Refusal.code`); GraphQL calls it ErrorCode."""

    NOT_FOUND = "NOT_FOUND"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_TRANSITION = "INVALID_TRANSITION"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"


@strawberry.enum(description="Whether a webhook endpoint receives events.")
class WebhookEndpointState(Enum):
    """An endpoint's state, valued as the notify service stores it."""

    ACTIVE = "active"
    DISABLED = "disabled"


@strawberry.enum(description="Where one event's delivery to one endpoint stands.")
class WebhookDeliveryState(Enum):
    """A delivery's state, valued as the notify service stores it."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    GONE = "gone"


@strawberry.enum(description="Whether a post-incident review (复盘) is still being written.")
class ReviewState(Enum):
    """A review report's state, valued as the incidents service stores it."""

    DRAFT = "draft"
    COMPLETE = "complete"


@strawberry.enum(description="Where an improvement a review committed to stands.")
class ImprovementState(Enum):
    """An improvement action's state, valued as the incidents service stores it."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    VERIFIED = "verified"
    DROPPED = "dropped"
    REOPENED = "reopened"


@strawberry.enum(
    description="Why a statement is flagged against the one-message rule (一致性原则)."
)
class ConsistencyFlagKind(Enum):
    """A consistency flag's kind, valued as the incidents service stores it."""

    MISSING_FACT = "missing_fact"
    CONFLICT = "conflict"


@strawberry.enum(description="A quota an organization can use up.")
class Quota(Enum):
    """The quotas a create mutation may be refused on, valued as `libs.quotas` names them."""

    WATCHLISTS = quotas.WATCHLISTS
    ENDPOINTS = quotas.ENDPOINTS


__all__ = [
    "AuthorKind",
    "Channel",
    "ConsistencyFlagKind",
    "ContactKind",
    "CrisisType",
    "EndpointKind",
    "EventType",
    "FollowUpKind",
    "ImprovementState",
    "IncidentStatus",
    "Quota",
    "RefusalCode",
    "ReviewDecision",
    "ReviewStage",
    "ReviewState",
    "SensitiveCategory",
    "Sentiment",
    "Source",
    "StatementStatus",
    "TaskStatus",
    "TeamRole",
    "Tier",
    "WatchlistKind",
    "WebhookDeliveryState",
    "WebhookEndpointState",
]
