"""Writing the people's parts of a review and completing it; the incidents service owns it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import INCIDENT, Change, reread
from gateway.core.context import Info
from gateway.core.errors import AnyRefusal, or_why_not, superseded_by
from gateway.core.inputs import as_utc
from gateway.review.types import ReviewReport
from libs.contracts.response import CompleteReview, UpdateReview
from libs.database import tables

ReviewResult = Annotated[ReviewReport | AnyRefusal, or_why_not("ReviewResult", "The review report")]


@strawberry.input(description="An improvement the review commits to.")
class ImprovementInput:
    action: str
    owner: str
    due_at: datetime | None = None


@strawberry.input(
    description="The people's parts of an incident's review; an omitted field stays as it is."
)
class ReviewUpdateInput:
    incident_id: relay.GlobalID
    root_cause: str | None = None
    improvements: list[ImprovementInput] | None = strawberry.field(
        default=None, description="Replaces the previous list."
    )


@strawberry.input(description="The incident whose review is complete.")
class ReviewCompleteInput:
    incident_id: relay.GlobalID


# The incident's review is read back by the incident's id.
REVIEW = Change(
    INCIDENT,
    reread(tables.ReviewReport, ReviewReport.from_row, "Review of incident", by="incident_id"),
)
UPDATED = (
    "Write the people's parts of an incident's review: the root cause and the improvement "
    "actions (the list replaces the previous one). An omitted field stays."
)
COMPLETED = "Mark the review complete; refused while a required section is empty."


async def _update(info: Info, input: ReviewUpdateInput) -> ReviewResult:
    """Send the review's new parts; a refusal names the entry, e.g. `improvements[0].owner`."""
    entries = (
        None
        if input.improvements is None
        else [
            {
                "action": entry.action,
                "owner": entry.owner,
                "due_at": as_utc(entry.due_at) if entry.due_at else None,
            }
            for entry in input.improvements
        ]
    )
    return await REVIEW(
        info, input.incident_id, UpdateReview, root_cause=input.root_cause, improvements=entries
    )


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(description=UPDATED, deprecation_reason=superseded_by("reviewUpdate"))
    async def update_review(
        self,
        info: Info,
        incident_id: relay.GlobalID,
        root_cause: str | None = None,
        improvements: list[ImprovementInput] | None = None,
    ) -> ReviewResult:
        given = ReviewUpdateInput(
            incident_id=incident_id, root_cause=root_cause, improvements=improvements
        )
        return await _update(info, given)

    @strawberry.mutation(description=UPDATED)
    async def review_update(self, info: Info, input: ReviewUpdateInput) -> ReviewResult:
        return await _update(info, input)

    @strawberry.mutation(description=COMPLETED, deprecation_reason=superseded_by("reviewComplete"))
    async def complete_review(self, info: Info, incident_id: relay.GlobalID) -> ReviewResult:
        return await REVIEW(info, incident_id, CompleteReview)

    @strawberry.mutation(description=COMPLETED)
    async def review_complete(self, info: Info, input: ReviewCompleteInput) -> ReviewResult:
        return await REVIEW(info, input.incident_id, CompleteReview)
