"""`filter` inputs of the connections: every given condition must hold.

A global id of the wrong type is refused with an error naming the field, never read as "no
match", so a client passing a Mention id where a Watchlist id belongs learns it at once.
"""

import uuid
from datetime import UTC, datetime

import strawberry
from strawberry import relay

from gateway.schema.enums import (
    AuthorKind,
    Channel,
    CrisisType,
    EventType,
    IncidentStatus,
    Sentiment,
    Source,
    StatementStatus,
    TaskStatus,
    TeamRole,
    Tier,
)
from gateway.schema.errors import GatewayError
from gateway.schema.nodes import parse_uuid


def as_utc(moment: datetime) -> datetime:
    """Read a time without an offset as UTC, never as the server's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def local_id(global_id: relay.GlobalID, type_name: str) -> uuid.UUID | None:
    """Return the row id inside a global id of `type_name`, or None for any other id."""
    if global_id.type_name != type_name:
        return None
    return parse_uuid(global_id.node_id)


def require_id(global_id: relay.GlobalID, type_name: str, field: str) -> uuid.UUID:
    """Return the row id inside a global id that must be of `type_name`; `field` names it."""
    row_id = local_id(global_id, type_name)
    if row_id is None:
        article = "an" if type_name[0] in "AEIOU" else "a"
        raise GatewayError(f"`{field}` must be {article} {type_name} id.")
    return row_id


def contains_pattern(text: str) -> str:
    """Return an ILIKE pattern matching `text` anywhere, its wildcards taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def check_choice(value: str | None, allowed: tuple[str, ...], field: str) -> str | None:
    """Return `value` if it is one of `allowed`; refuse it naming `field` otherwise."""
    if value is not None and value not in allowed:
        raise GatewayError(f"`{field}` must be one of {', '.join(allowed)}; got {value!r}.")
    return value


@strawberry.input(description="Narrow a mention list; every given condition must hold.")
class MentionFilter:
    sentiment: Sentiment | None = None
    source: Source | None = None
    watchlist_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A watchlist's global id: mentions analysis matched to it."
    )
    since: datetime | None = strawberry.field(
        default=None, description="Posted at or after; a time without an offset is UTC."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Posted before; a time without an offset is UTC."
    )
    story_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A story's global id: only its members."
    )
    author_database_id: uuid.UUID | None = strawberry.field(
        default=None, description="Only this author's mentions (the author's `databaseId`)."
    )
    crisis_type: CrisisType | None = None
    min_influence: float | None = strawberry.field(
        default=None, description="Analysis's influence at least this."
    )
    amplifier: bool | None = strawberry.field(
        default=None, description="Whether analysis marked the mention as amplifying (大V、媒体)."
    )
    analyzed: bool | None = strawberry.field(
        default=None, description="true: analysed mentions only; false: those still waiting."
    )
    text_contains: str | None = strawberry.field(
        default=None, description="The text contains this, ignoring case."
    )


@strawberry.input(description="Narrow an incident list; every given condition must hold.")
class IncidentFilter:
    status: IncidentStatus | None = None
    tier: Tier | None = None
    watchlist_id: relay.GlobalID | None = None
    crisis_type: CrisisType | None = None
    open: bool | None = strawberry.field(
        default=None,
        description="true: still being handled (not resolved, closed, merged or a false alarm).",
    )
    acknowledged: bool | None = strawberry.field(
        default=None, description="Whether someone acknowledged it."
    )
    detected_since: datetime | None = strawberry.field(
        default=None, description="Detected at or after; a time without an offset is UTC."
    )
    detected_until: datetime | None = strawberry.field(
        default=None, description="Detected before; a time without an offset is UTC."
    )


@strawberry.input(description="Narrow a story list; every given condition must hold.")
class StoryFilter:
    watchlist_id: relay.GlobalID | None = strawberry.field(
        default=None, description="Only stories with a mention this watchlist matched."
    )
    min_mentions: int | None = strawberry.field(
        default=None, description="At least this many mentions."
    )
    active_since: datetime | None = strawberry.field(
        default=None, description="Last posted at or after."
    )
    active_until: datetime | None = strawberry.field(
        default=None, description="Last posted before."
    )


@strawberry.input(description="Narrow a risk-signal list; every given condition must hold.")
class SignalFilter:
    watchlist_id: relay.GlobalID | None = None
    tier: Tier | None = None
    min_tier: Tier | None = strawberry.field(
        default=None, description="This tier or a more severe one."
    )
    below_blue: bool | None = strawberry.field(
        default=None, description="true: only signals recording a drop below blue (no tier)."
    )
    min_score: float | None = None
    crisis_type: CrisisType | None = None
    since: datetime | None = strawberry.field(default=None, description="Created at or after.")
    until: datetime | None = strawberry.field(default=None, description="Created before.")


@strawberry.input(description="Narrow a watchlist list; every given condition must hold.")
class WatchlistFilter:
    tier: Tier | None = strawberry.field(default=None, description="Current tier exactly.")
    min_tier: Tier | None = strawberry.field(
        default=None, description="Current tier this or more severe."
    )
    name_contains: str | None = strawberry.field(
        default=None, description="The name contains this, ignoring case."
    )
    spiked_since: datetime | None = strawberry.field(
        default=None, description="Last spiked at or after."
    )


@strawberry.input(
    description=(
        "Narrow response tasks across incidents; every given condition must hold. "
        "`overdue` and `person` make a 'my overdue tasks' view."
    )
)
class TaskFilter:
    status: TaskStatus | None = None
    overdue: bool | None = strawberry.field(
        default=None,
        description=(
            "true: not done and past due (or already marked overdue); false: done or not yet due."
        ),
    )
    role: TeamRole | None = strawberry.field(default=None, description="The owning role.")
    person: str | None = strawberry.field(
        default=None,
        description="Tasks whose owning role this person holds on the incident's team.",
    )
    incident_id: relay.GlobalID | None = None
    incident_open: bool | None = strawberry.field(
        default=None, description="Whether the task's incident is still being handled."
    )
    channel: Channel | None = None
    kind: str | None = None
    due_before: datetime | None = strawberry.field(default=None, description="Due before.")
    due_after: datetime | None = strawberry.field(default=None, description="Due at or after.")


@strawberry.input(description="Narrow a statement list; every given condition must hold.")
class StatementFilter:
    channel: Channel | None = None
    status: StatementStatus | None = None
    incident_id: relay.GlobalID | None = None
    flagged: bool | None = strawberry.field(
        default=None, description="Whether unresolved consistency flags remain."
    )


REVIEW_STATUSES = ("draft", "completed")


@strawberry.input(description="Narrow a review-report list; every given condition must hold.")
class ReviewReportFilter:
    status: str | None = strawberry.field(default=None, description="`draft` or `completed`.")
    completed: bool | None = strawberry.field(
        default=None, description="Whether someone completed the review."
    )
    incident_id: relay.GlobalID | None = None


DELIVERY_STATUSES = ("pending", "succeeded", "failed", "gone")


@strawberry.input(description="Narrow the delivery log; every given condition must hold.")
class WebhookDeliveryFilter:
    endpoint_id: relay.GlobalID | None = None
    status: str | None = strawberry.field(
        default=None, description="`pending`, `succeeded`, `failed` or `gone`."
    )
    event_type: EventType | None = None
    since: datetime | None = strawberry.field(default=None, description="Created at or after.")
    until: datetime | None = strawberry.field(default=None, description="Created before.")


@strawberry.input(
    description=(
        "Narrow an author list; every given condition must hold. `since`, `until` and "
        "`watchlistId` choose which mentions are counted: authors without one are left out."
    )
)
class AuthorFilter:
    source: Source | None = None
    kind: AuthorKind | None = None
    verified: bool | None = None
    min_followers: int | None = None
    handle_contains: str | None = strawberry.field(
        default=None, description="The handle contains this, ignoring case."
    )
    watchlist_id: relay.GlobalID | None = None
    since: datetime | None = strawberry.field(default=None, description="Posted at or after.")
    until: datetime | None = strawberry.field(default=None, description="Posted before.")
