"""A review report as clients read it, with its improvements; the filter of report lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime

import strawberry
from strawberry import relay
from strawberry.scalars import JSON
from strawberry.types.lazy_type import LazyType

from gateway.core.context import Info
from gateway.core.enums import ImprovementState, ReviewState
from gateway.core.errors import REMOVAL
from gateway.core.nodes import LoadedNode, children_of, load_by_name
from gateway.core.rows import Stored, converted
from gateway.review.loaders import IMPROVEMENTS_BY_INCIDENT, REVIEWS

# An incident shows its review, so the review names its incident lazily, without an import.
IncidentRef: LazyType[str, str] = LazyType("Incident", "gateway.incidents.types")
REVIEW_STATUSES = ("draft", "completed")


@strawberry.type(description="An improvement a review committed to.")
class ImprovementAction(Stored):
    action: str
    owner: str
    status: str = strawberry.field(
        description="`open`, `done`, or `reopened` when a similar incident recurred.",
        deprecation_reason=f"Use `state`; {REMOVAL}",
    )
    due_at: datetime | None
    created_at: datetime

    @strawberry.field(description="OPEN, DONE, or REOPENED when a similar incident recurred.")
    def state(self) -> ImprovementState:
        return ImprovementState(self.status)


@strawberry.type(
    description=(
        "The post-incident review (复盘): sections computed when the incident was resolved, "
        "and the root cause and improvements people wrote."
    )
)
class ReviewReport(LoadedNode):
    ROWS = REVIEWS
    CONVERTED = converted(sections=JSON)

    status: str = strawberry.field(
        description="`draft` until completed, then `complete`.",
        deprecation_reason=f"Use `state`; {REMOVAL}",
    )
    sections: JSON = strawberry.field(
        description=(
            "The computed sections: each stage's timing against its deadline, volume and "
            "sentiment before, during and after, channels, tasks done and missed, follow-ups."
        )
    )
    root_cause: str | None
    completed_at: datetime | None
    completed_by: str | None
    created_at: datetime
    updated_at: datetime
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="DRAFT until completed, then COMPLETE.")
    def state(self) -> ReviewState:
        return ReviewState(self.status)

    @strawberry.field(description="Improvement actions, in the order they were written.")
    async def improvements(self, info: Info) -> list[ImprovementAction]:
        return await children_of(
            info, IMPROVEMENTS_BY_INCIDENT, self.incident_id, ImprovementAction
        )

    @strawberry.field(graphql_type=IncidentRef | None, description="The incident under review.")
    async def incident(self, info: Info) -> relay.Node | None:
        return await load_by_name(info, "Incident", self.incident_id)
