"""Moving an improvement action along: a command to the incidents service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, reread
from gateway.core.context import Info
from gateway.core.enums import ImprovementState
from gateway.core.errors import Forbidden, InvalidInput, InvalidTransition, NotFound, or_why_not
from gateway.core.inputs import as_utc, optional_id
from gateway.review.types import ImprovementAction
from libs.contracts.enums import ImprovementStatus
from libs.contracts.response import UpdateImprovementAction
from libs.database import tables

ImprovementActionResult = Annotated[
    ImprovementAction | InvalidInput | InvalidTransition | NotFound | Forbidden,
    or_why_not("ImprovementActionResult", "The changed improvement action"),
]


@strawberry.input(description="Changes to an improvement action; an omitted field stays.")
class ImprovementActionUpdateInput:
    id: uuid.UUID = strawberry.field(description="The action's `databaseId`.")
    state: ImprovementState | None = strawberry.field(
        default=None,
        description=(
            "OPEN → IN_PROGRESS → DONE → VERIFIED, or DROPPED; DONE may go back to "
            "IN_PROGRESS or OPEN. DROPPED and OPEN need a `reason`; REOPENED is the "
            "recurrence's, never set by hand."
        ),
    )
    reason: str | None = None
    owner_person_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A person of your organization who owns it from now on."
    )
    due_at: datetime | None = strawberry.field(
        default=None, description="A new due date; watched again from now."
    )


UPDATE = Change(
    Target(tables.ImprovementAction, "ImprovementAction", "improvement action", "action_id"),
    reread(tables.ImprovementAction, ImprovementAction.from_row, "ImprovementAction"),
    accept=(InvalidInput, InvalidTransition, NotFound),
)


@strawberry.type
class ImprovementMutation:
    @strawberry.mutation(
        description=(
            "Move an improvement action along (in progress, done, verified, dropped with a "
            "reason), give it an owner who is a person, or a new due date. A recurrence "
            "reopens only the actions not done, verified or dropped."
        )
    )
    async def improvement_action_update(
        self, info: Info, input: ImprovementActionUpdateInput
    ) -> ImprovementActionResult:
        if input.state is ImprovementState.REOPENED:
            return InvalidInput(message="REOPENED is set by a recurrence only.", field="state")
        answer = await UPDATE(
            info,
            input.id,
            UpdateImprovementAction,
            status=ImprovementStatus(input.state.value) if input.state else None,
            reason=input.reason,
            owner_person_id=optional_id(input.owner_person_id, "Person", "ownerPersonId"),
            due_at=as_utc(input.due_at) if input.due_at else None,
        )
        return cast(
            ImprovementAction | InvalidInput | InvalidTransition | NotFound | Forbidden, answer
        )
