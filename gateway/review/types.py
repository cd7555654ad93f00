"""A review report as clients read it, with its improvements; the filter of report lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime, timedelta, timezone

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
# An action's owner is a person, named lazily: people are a domain of their own.
PersonRef: LazyType[str, str] = LazyType("Person", "gateway.people.types")
REVIEW_STATUSES = ("draft", "complete")


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
    status_reason: str | None = strawberry.field(
        description="Why it last changed status (required to drop or reopen it)."
    )
    status_changed_at: datetime | None
    status_changed_by: str | None
    done_at: datetime | None = strawberry.field(description="When it was last marked done.")
    overdue_at: datetime | None = strawberry.field(
        description="When the deadline pass found it late; cleared by a new due date."
    )
    owner_person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description=(
            "OPEN, IN_PROGRESS, DONE, VERIFIED, DROPPED; REOPENED when a similar incident "
            "recurred before statuses were tracked."
        )
    )
    def state(self) -> ImprovementState:
        return ImprovementState(self.status)

    @strawberry.field(graphql_type=PersonRef | None, description="The person who owns it.")
    async def owner_person(self, info: Info) -> relay.Node | None:
        if self.owner_person_id is None:
            return None
        return await load_by_name(info, "Person", self.owner_person_id)


def notice_text(finished: "list[ImprovementAction]", committed: int) -> str:
    """The public notice of completed improvements, one numbered line each, Beijing dates."""
    beijing = timezone(timedelta(hours=8))
    lines = [f"整改进展公示：复盘承诺的 {committed} 项改进措施中，已完成 {len(finished)} 项。"]
    for number, action in enumerate(finished, start=1):
        when = action.done_at.astimezone(beijing).strftime("%Y-%m-%d") if action.done_at else ""
        checked = "（已验证）" if action.status == "verified" else ""
        lines.append(f"{number}. {action.action}{checked}{'，完成于 ' + when if when else ''}")
    return "\n".join(lines)


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

    @strawberry.field(
        description=(
            "A public notice of the improvements completed (公示改进成果): the actions done or "
            "verified, with when, ready to publish with the closing statement; null while "
            "none is done."
        )
    )
    async def improvement_notice(self, info: Info) -> str | None:
        actions = await children_of(
            info, IMPROVEMENTS_BY_INCIDENT, self.incident_id, ImprovementAction
        )
        finished = [a for a in actions if a.status in ("done", "verified")]
        if not finished:
            return None
        return notice_text(finished, len(actions))

    @strawberry.field(graphql_type=IncidentRef | None, description="The incident under review.")
    async def incident(self, info: Info) -> relay.Node | None:
        return await load_by_name(info, "Incident", self.incident_id)
