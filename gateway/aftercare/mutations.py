"""Recording a harmed customer and completing what is owed to them; incidents owns both.

The name and contact are sealed under the data key before they are queued
(`libs.messaging.sealing`); the gateway never reads them back in clear, and never returns them.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from typing import Annotated

import strawberry

from gateway.aftercare.loaders import NO_CONTACT
from gateway.aftercare.types import AddAffectedUserInput, AffectedUser, FollowUp
from gateway.core.commands import added_to_incident, of_incident
from gateway.core.context import Info
from gateway.core.errors import AnyRefusal, or_why_not, superseded_by
from gateway.core.inputs import as_utc, input_fields
from libs.contracts.response import AddAffectedUser, CompleteFollowUp
from libs.database import tables

AffectedUserResult = Annotated[
    AffectedUser | AnyRefusal, or_why_not("AffectedUserResult", "The masked affected user")
]
FollowUpResult = Annotated[FollowUp | AnyRefusal, or_why_not("FollowUpResult", "The follow-up")]


# The affected user the service recorded is read back with masked columns only.
ADD = added_to_incident(
    tables.AffectedUser, AffectedUser.from_row, "Affected user", options=NO_CONTACT
)
COMPLETE = of_incident(tables.FollowUpTask, "follow-up", "task_id", FollowUp.from_row)


@strawberry.input(description="The follow-up done, and a note on how.")
class FollowUpCompleteInput:
    id: uuid.UUID = strawberry.field(description="The follow-up's `databaseId`.")
    note: str | None = None


FOLLOWED_UP = "Mark a follow-up visit or a compensation done; `id` is its `databaseId`."


@strawberry.type
class AftercareMutation:
    @strawberry.mutation(
        description="Record a harmed customer; the answer carries masked data only."
    )
    async def add_affected_user(
        self, info: Info, input: AddAffectedUserInput
    ) -> AffectedUserResult:
        due = input.follow_up_due_at
        return await ADD(
            info,
            input.incident_id,
            AddAffectedUser,
            **input_fields(input, but=("incident_id", "follow_up_due_at")),
            follow_up_due_at=as_utc(due) if due is not None else None,
        )

    @strawberry.mutation(
        description=FOLLOWED_UP, deprecation_reason=superseded_by("followUpComplete")
    )
    async def complete_follow_up(
        self, info: Info, id: uuid.UUID, note: str | None = None
    ) -> FollowUpResult:
        return await COMPLETE(info, id, CompleteFollowUp, note=note)

    @strawberry.mutation(description=FOLLOWED_UP)
    async def follow_up_complete(self, info: Info, input: FollowUpCompleteInput) -> FollowUpResult:
        return await COMPLETE(info, input.id, CompleteFollowUp, note=input.note)
