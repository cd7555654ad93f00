"""`orderBy` inputs: for each connection, the keys it can be sorted by and their SQL.

Every key is a non-null value (nullable columns are left out or coalesced), so keyset
pagination over (key, id) stays exact. Tiers sort by severity and incident statuses by
their place in the lifecycle, not alphabetically.
"""

from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import strawberry
from sqlalchemy import case, func
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from gateway.schema.pagination import Ordering
from libs.contracts.enums import IncidentStatus, Tier
from libs.database import tables

Field = TypeVar("Field", bound=Enum)
# A sort key's SQL expression (a column, or built from columns) and its Python value type.
KeySpec = tuple[Any, type]


@strawberry.enum(description="Which way a list runs: ascending or descending.")
class OrderDirection(Enum):
    ASC = "asc"
    DESC = "desc"


def tier_rank(column: Any) -> ColumnElement[int]:
    """Rank a stored tier by severity: none (below blue) 0, blue 1 … red 4."""
    return case(
        {tier.value: rank for rank, tier in enumerate(Tier, start=1)}, value=column, else_=0
    )


def status_rank(column: Any) -> ColumnElement[int]:
    """Rank a stored incident status by its place in the lifecycle, detected first."""
    return case({status.value: rank for rank, status in enumerate(IncidentStatus)}, value=column)


def build_ordering(
    keys: Mapping[Field, KeySpec],
    field: Field,
    direction: OrderDirection,
) -> Ordering:
    """Return the ordering of `field` from a connection's table of keys."""
    key, value_type = keys[field]
    return Ordering(field.name, key, value_type, direction is OrderDirection.DESC)


# --- mentions -------------------------------------------------------------------------


@strawberry.enum(description="What a mention list can be sorted by.")
class MentionOrderField(Enum):
    POSTED_AT = "posted_at"
    INGESTED_AT = "ingested_at"
    INFLUENCE = "influence"
    ENGAGEMENT = "engagement"
    VIEWS = "views"


@strawberry.input(
    description=(
        "Sort mentions: `INFLUENCE` is analysis's reach estimate (0 until analysed), "
        "`ENGAGEMENT` reposts + comments + likes."
    )
)
class MentionOrder:
    field: MentionOrderField
    direction: OrderDirection = OrderDirection.DESC


def _engagement() -> ColumnElement[int]:
    mention = tables.Mention
    return col(mention.reposts) + col(mention.comments) + col(mention.likes)


MENTION_KEYS: dict[MentionOrderField, KeySpec] = {
    MentionOrderField.POSTED_AT: (col(tables.Mention.posted_at), datetime),
    MentionOrderField.INGESTED_AT: (col(tables.Mention.ingested_at), datetime),
    MentionOrderField.INFLUENCE: (
        func.coalesce(col(tables.MentionAnalysis.influence), 0.0),
        float,
    ),
    MentionOrderField.ENGAGEMENT: (_engagement(), int),
    MentionOrderField.VIEWS: (col(tables.Mention.views), int),
}


# --- stories ----------------------------------------------------------------------------


@strawberry.enum(description="What a story list can be sorted by.")
class StoryOrderField(Enum):
    LAST_POSTED_AT = "last_posted_at"
    STARTED_AT = "started_at"
    MENTION_COUNT = "mention_count"


@strawberry.input(description="Sort stories.")
class StoryOrder:
    field: StoryOrderField
    direction: OrderDirection = OrderDirection.DESC


STORY_KEYS: dict[StoryOrderField, KeySpec] = {
    StoryOrderField.LAST_POSTED_AT: (col(tables.Story.last_posted_at), datetime),
    StoryOrderField.STARTED_AT: (col(tables.Story.started_at), datetime),
    StoryOrderField.MENTION_COUNT: (col(tables.Story.mention_count), int),
}


# --- risk signals -----------------------------------------------------------------------


@strawberry.enum(description="What a risk-signal list can be sorted by.")
class SignalOrderField(Enum):
    CREATED_AT = "created_at"
    SCORE = "score"
    TIER = "tier"


@strawberry.input(description="Sort risk signals; `TIER` by severity, no tier lowest.")
class SignalOrder:
    field: SignalOrderField
    direction: OrderDirection = OrderDirection.DESC


SIGNAL_KEYS: dict[SignalOrderField, KeySpec] = {
    SignalOrderField.CREATED_AT: (col(tables.RiskSignal.created_at), datetime),
    SignalOrderField.SCORE: (col(tables.RiskSignal.score), float),
    SignalOrderField.TIER: (tier_rank(col(tables.RiskSignal.tier)), int),
}


# --- watchlists -------------------------------------------------------------------------


@strawberry.enum(description="What a watchlist list can be sorted by.")
class WatchlistOrderField(Enum):
    NAME = "name"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    TIER = "tier"


@strawberry.input(
    description=(
        "Sort watchlists; `NAME` in code point order, `TIER` by current tier's severity "
        "(below blue lowest)."
    )
)
class WatchlistOrder:
    field: WatchlistOrderField
    direction: OrderDirection = OrderDirection.ASC


WATCHLIST_KEYS: dict[WatchlistOrderField, KeySpec] = {
    WatchlistOrderField.NAME: (col(tables.Watchlist.name).collate("C"), str),
    WatchlistOrderField.CREATED_AT: (col(tables.Watchlist.created_at), datetime),
    WatchlistOrderField.UPDATED_AT: (col(tables.Watchlist.updated_at), datetime),
    WatchlistOrderField.TIER: (tier_rank(col(tables.Watchlist.current_tier)), int),
}


# --- incidents --------------------------------------------------------------------------


@strawberry.enum(description="What an incident list can be sorted by.")
class IncidentOrderField(Enum):
    DETECTED_AT = "detected_at"
    UPDATED_AT = "updated_at"
    TIER = "tier"
    STATUS = "status"


@strawberry.input(
    description=(
        "Sort incidents; `TIER` by severity, `STATUS` by place in the lifecycle "
        "(detected … closed, then merged and false alarm)."
    )
)
class IncidentOrder:
    field: IncidentOrderField
    direction: OrderDirection = OrderDirection.DESC


INCIDENT_KEYS: dict[IncidentOrderField, KeySpec] = {
    IncidentOrderField.DETECTED_AT: (col(tables.Incident.detected_at), datetime),
    IncidentOrderField.UPDATED_AT: (col(tables.Incident.updated_at), datetime),
    IncidentOrderField.TIER: (tier_rank(col(tables.Incident.tier)), int),
    IncidentOrderField.STATUS: (status_rank(col(tables.Incident.status)), int),
}


# --- response tasks ---------------------------------------------------------------------


@strawberry.enum(description="What a task list can be sorted by.")
class TaskOrderField(Enum):
    DUE_AT = "due_at"
    CREATED_AT = "created_at"


@strawberry.input(description="Sort response tasks.")
class TaskOrder:
    field: TaskOrderField
    direction: OrderDirection = OrderDirection.ASC


TASK_KEYS: dict[TaskOrderField, KeySpec] = {
    TaskOrderField.DUE_AT: (col(tables.ResponseTask.due_at), datetime),
    TaskOrderField.CREATED_AT: (col(tables.ResponseTask.created_at), datetime),
}


# --- statements and review reports ------------------------------------------------------


@strawberry.enum(description="What a statement list can be sorted by.")
class StatementOrderField(Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.input(description="Sort statements.")
class StatementOrder:
    field: StatementOrderField
    direction: OrderDirection = OrderDirection.DESC


STATEMENT_KEYS: dict[StatementOrderField, KeySpec] = {
    StatementOrderField.CREATED_AT: (col(tables.Statement.created_at), datetime),
    StatementOrderField.UPDATED_AT: (col(tables.Statement.updated_at), datetime),
}


@strawberry.enum(description="What a review-report list can be sorted by.")
class ReviewReportOrderField(Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"


@strawberry.input(description="Sort review reports.")
class ReviewReportOrder:
    field: ReviewReportOrderField
    direction: OrderDirection = OrderDirection.DESC


REVIEW_KEYS: dict[ReviewReportOrderField, KeySpec] = {
    ReviewReportOrderField.CREATED_AT: (col(tables.ReviewReport.created_at), datetime),
    ReviewReportOrderField.UPDATED_AT: (col(tables.ReviewReport.updated_at), datetime),
}


# --- webhook deliveries -----------------------------------------------------------------


@strawberry.enum(description="What the delivery log can be sorted by.")
class WebhookDeliveryOrderField(Enum):
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    ATTEMPTS = "attempts"


@strawberry.input(description="Sort webhook deliveries.")
class WebhookDeliveryOrder:
    field: WebhookDeliveryOrderField
    direction: OrderDirection = OrderDirection.DESC


DELIVERY_KEYS: dict[WebhookDeliveryOrderField, KeySpec] = {
    WebhookDeliveryOrderField.CREATED_AT: (
        col(tables.WebhookDelivery.created_at),
        datetime,
    ),
    WebhookDeliveryOrderField.UPDATED_AT: (
        col(tables.WebhookDelivery.updated_at),
        datetime,
    ),
    WebhookDeliveryOrderField.ATTEMPTS: (col(tables.WebhookDelivery.attempts), int),
}
