"""Writing the people's parts of a review and completing it; the incidents service owns it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import INCIDENT, Change, reread
from gateway.core.context import Info
from gateway.core.errors import (
    AnyRefusal,
    or_why_not,
)
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


# The incident's review is read back by the incident's id.
REVIEW = Change(
    INCIDENT,
    reread(tables.ReviewReport, ReviewReport.from_row, "Review of incident", by="incident_id"),
)


@strawberry.type
class ReviewMutation:
    @strawberry.mutation(
        description=(
            "Write the people's parts of an incident's review: the root cause and the "
            "improvement actions (the list replaces the previous one). An omitted field stays."
        )
    )
    async def update_review(
        self,
        info: Info,
        incident_id: relay.GlobalID,
        root_cause: str | None = None,
        improvements: list[ImprovementInput] | None = None,
    ) -> ReviewResult:
        entries = (
            None
            if improvements is None
            else [
                {
                    "action": entry.action,
                    "owner": entry.owner,
                    "due_at": as_utc(entry.due_at) if entry.due_at else None,
                }
                for entry in improvements
            ]
        )
        # A refusal names the nested entry, e.g. `improvements[0].owner`.
        return await REVIEW(
            info, incident_id, UpdateReview, root_cause=root_cause, improvements=entries
        )

    @strawberry.mutation(
        description="Mark the review complete; refused while a required section is empty."
    )
    async def complete_review(self, info: Info, incident_id: relay.GlobalID) -> ReviewResult:
        return await REVIEW(info, incident_id, CompleteReview)
