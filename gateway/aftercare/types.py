"""An affected user as clients read it (masked), with the follow-ups owed to them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from strawberry import relay

from gateway.aftercare.loaders import FOLLOW_UPS_BY_USER
from gateway.core.context import Info
from gateway.core.enums import ContactKind, FollowUpKind, TaskStatus
from gateway.core.nodes import children_of
from gateway.core.rows import Stored, converted


@strawberry.type(description="A follow-up visit or a compensation owed to an affected user.")
class FollowUp(Stored):
    CONVERTED = converted(kind=FollowUpKind, status=TaskStatus)

    kind: FollowUpKind
    status: TaskStatus
    due_at: datetime | None
    amount: float | None
    note: str | None
    completed_at: datetime | None


@strawberry.type(
    description=(
        "A customer the incident harmed. Only masked data is ever shown; the contact is stored "
        "encrypted and no API returns it in clear."
    )
)
class AffectedUser(Stored):
    CONVERTED = converted(contact_kind=ContactKind)

    name_masked: str = strawberry.field(description="The surname only, e.g. `张*`, `欧阳**`.")
    contact_kind: ContactKind
    contact_masked: str = strawberry.field(
        description="E.g. `138****5678`, `z***@example.com`, `110101********1234`."
    )
    created_by: str
    created_at: datetime

    @strawberry.field(description="Follow-up visits and compensations, earliest due first.")
    async def follow_ups(self, info: Info) -> list[FollowUp]:
        return await children_of(info, FOLLOW_UPS_BY_USER, self.database_id, FollowUp)


@strawberry.input(
    description=(
        "A customer the incident harmed. The contact is encrypted at rest and only its masked "
        "form is ever shown; a follow-up visit (and a compensation, with an amount) are added."
    )
)
class AddAffectedUserInput:
    incident_id: relay.GlobalID
    name: str
    contact_kind: ContactKind
    contact: str
    follow_up_due_at: datetime | None = None
    compensation_amount: float | None = None
