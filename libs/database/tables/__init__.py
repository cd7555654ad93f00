"""All tables, one module per owning service; importing this registers them on the metadata."""

from sqlmodel import SQLModel

from libs.database.tables.analysis import MentionAnalysis, RiskSignal, Watchlist
from libs.database.tables.incidents import Incident, ResponseTask, TimelineEvent
from libs.database.tables.ingest import Author, Mention
from libs.database.tables.messaging import MessageReceipt, OutboxMessage
from libs.database.tables.tenancy import ApiKey, Organization

metadata = SQLModel.metadata

__all__ = [
    "ApiKey",
    "Author",
    "Incident",
    "Mention",
    "MentionAnalysis",
    "MessageReceipt",
    "Organization",
    "OutboxMessage",
    "ResponseTask",
    "RiskSignal",
    "TimelineEvent",
    "Watchlist",
    "metadata",
]
