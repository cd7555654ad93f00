"""Follow-ups as a list: the organization's visits, searchable by the feedback collected."""

from datetime import UTC, datetime

import strawberry
from sqlalchemy import func, literal
from sqlmodel import col

from gateway.aftercare.types import FollowUp
from gateway.core.enums import FollowUpKind, TaskStatus
from gateway.core.filters import containing, equals, names, present
from gateway.core.listing import Key, ListSpec, OrderDirection, Sorting
from libs.database import tables

follow_up = tables.FollowUpTask
# A follow-up without a due time (none are made so) sorts first rather than breaking the keyset.
_NEVER = literal(datetime(1970, 1, 1, tzinfo=UTC))


@strawberry.input(description="Narrow a follow-up list; every given condition must hold.")
class FollowUpFilter:
    feedback_contains: str | None = containing(
        follow_up.feedback, "The feedback the user gave contains this text (any case)."
    )
    incident_id: strawberry.relay.GlobalID | None = names(follow_up.incident_id, "Incident")
    owner_person_id: strawberry.relay.GlobalID | None = names(follow_up.owner_person_id, "Person")
    kind: FollowUpKind | None = equals(follow_up.kind)
    status: TaskStatus | None = equals(follow_up.status)
    overdue: bool | None = present(
        follow_up.overdue_at, "true: only those the deadline pass found late."
    )


FOLLOW_UP_ORDER = Sorting(
    "Sort follow-ups.",
    OrderDirection.ASC,
    DUE_AT=Key(func.coalesce(col(follow_up.due_at), _NEVER), datetime),
)
FOLLOW_UP_LIST = ListSpec(FollowUp, FollowUpFilter, FOLLOW_UP_ORDER, noun="a follow-up list")


@strawberry.type
class AftercareQuery:
    follow_ups = FOLLOW_UP_LIST.connection_field(
        "Your organization's follow-up visits and compensations, earliest due first; "
        "`filter.feedbackContains` searches the feedback users gave."
    )
