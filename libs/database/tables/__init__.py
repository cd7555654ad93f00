"""All tables, one module per owning service; importing this registers them on the metadata."""

from sqlmodel import SQLModel

from libs.database.tables.analysis import (
    MentionAnalysis,
    RiskSignal,
    SensitiveTerm,
    Story,
    StoryBand,
    Watchlist,
    WatchlistHit,
)
from libs.database.tables.incidents import (
    AffectedUser,
    FollowUpTask,
    ImprovementAction,
    Incident,
    IncidentMember,
    IntegrationEvent,
    KeyFact,
    Playbook,
    ReplyCase,
    ResponseTask,
    ReviewReport,
    RiskCheck,
    Statement,
    StatementReview,
    TimelineEvent,
    WatchlistSnooze,
)
from libs.database.tables.ingest import (
    Author,
    Complaint,
    IdempotencyRecord,
    Mention,
    MentionFailure,
)
from libs.database.tables.messaging import DeadLetter, MessageReceipt, OutboxMessage
from libs.database.tables.notify import WebhookDelivery, WebhookEndpoint, WebhookPolicy
from libs.database.tables.rollups import AuthorDayRollup, AuthorRollup, MentionRollup
from libs.database.tables.tenancy import ApiKey, Organization, OrganizationKey

metadata = SQLModel.metadata

__all__ = [
    "AffectedUser",
    "ApiKey",
    "Author",
    "AuthorDayRollup",
    "AuthorRollup",
    "Complaint",
    "DeadLetter",
    "FollowUpTask",
    "IdempotencyRecord",
    "ImprovementAction",
    "Incident",
    "IncidentMember",
    "IntegrationEvent",
    "KeyFact",
    "Mention",
    "MentionAnalysis",
    "MentionFailure",
    "MentionRollup",
    "MessageReceipt",
    "Organization",
    "OrganizationKey",
    "OutboxMessage",
    "Playbook",
    "ReplyCase",
    "ResponseTask",
    "ReviewReport",
    "RiskCheck",
    "RiskSignal",
    "SensitiveTerm",
    "Statement",
    "StatementReview",
    "Story",
    "StoryBand",
    "TimelineEvent",
    "Watchlist",
    "WatchlistHit",
    "WatchlistSnooze",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookPolicy",
    "metadata",
]
