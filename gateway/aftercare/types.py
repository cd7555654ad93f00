"""An affected user as clients read it (masked), with the follow-ups owed to them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import ClassVar

import strawberry
from strawberry import relay
from strawberry.types.lazy_type import LazyType

from gateway.aftercare.loaders import AFFECTED_USERS, FOLLOW_UPS, FOLLOW_UPS_BY_USER
from gateway.core.context import Info
from gateway.core.enums import ContactKind, FollowUpKind, TaskStatus
from gateway.core.nodes import Loaded, LoadedNode, children_of, load_by_name
from gateway.core.reads import ById
from gateway.core.rows import Stored, converted
from gateway.mentions.types import ComplaintDetails
from libs.database import tables

# A follow-up's owner is a person, named lazily: people are a domain of their own.
PersonRef: LazyType[str, str] = LazyType("Person", "gateway.people.types")


@strawberry.type(
    description=(
        "A follow-up visit (回访, one of its schedule) or a compensation owed to an affected "
        "user: its owner, its deadline watch, and what came of it."
    )
)
class FollowUp(LoadedNode):
    ROWS: ClassVar[ById[tables.FollowUpTask]] = FOLLOW_UPS
    CONVERTED = converted(kind=FollowUpKind, status=TaskStatus)

    kind: FollowUpKind
    status: TaskStatus
    due_at: datetime | None
    amount: float | None
    note: str | None
    completed_at: datetime | None
    visit: int | None = strawberry.field(
        description="Which visit of the schedule (1, 2, …); null for a compensation."
    )
    overdue_at: datetime | None = strawberry.field(
        description="When the follow-up deadline pass found it late and escalated it."
    )
    reached: bool | None = strawberry.field(description="Whether the user was reached.")
    satisfied: bool | None = strawberry.field(description="Whether the user was satisfied.")
    compensation_paid: bool | None
    paid_amount: float | None
    currency: str | None = strawberry.field(description="ISO 4217, e.g. `CNY`.")
    feedback: str | None = strawberry.field(
        description="What the user said could be better (收集改进意见), personal data masked."
    )
    affected_user_id: strawberry.Private[uuid.UUID]
    owner_person_id: strawberry.Private[uuid.UUID | None]
    escalated_to_person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(graphql_type=PersonRef | None, description="Who makes the visit.")
    async def owner(self, info: Info) -> relay.Node | None:
        if self.owner_person_id is None:
            return None
        return await load_by_name(info, "Person", self.owner_person_id)

    @strawberry.field(
        graphql_type=PersonRef | None,
        description="The incident's commander it was escalated to when it ran late.",
    )
    async def escalated_to(self, info: Info) -> relay.Node | None:
        if self.escalated_to_person_id is None:
            return None
        return await load_by_name(info, "Person", self.escalated_to_person_id)

    @strawberry.field(description="The user it is owed to.")
    async def affected_user(self, info: Info) -> "AffectedUser":
        return await AffectedUser.require(info, self.affected_user_id)


@strawberry.type(
    description=(
        "A customer the incident harmed. Only masked data is shown; the contact is stored "
        "encrypted and only `revealContact` returns it in clear, to the person assigned the "
        "follow-up or the incident's commander."
    )
)
class AffectedUser(Stored, Loaded):
    ROWS: ClassVar[ById[tables.AffectedUser]] = AFFECTED_USERS
    CONVERTED = converted(contact_kind=ContactKind)

    name_masked: str = strawberry.field(description="The surname only, e.g. `张*`, `欧阳**`.")
    contact_kind: ContactKind
    contact_masked: str = strawberry.field(
        description="E.g. `138****5678`, `z***@example.com`, `110101********1234`."
    )
    created_by: str
    created_at: datetime
    complaint_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="Follow-up visits and compensations, earliest due first.")
    async def follow_ups(self, info: Info) -> list[FollowUp]:
        return await children_of(info, FOLLOW_UPS_BY_USER, self.database_id, FollowUp)

    @strawberry.field(
        description="The complaint the user filed (channel, masked order number), if known."
    )
    async def complaint(self, info: Info) -> ComplaintDetails | None:
        return await ComplaintDetails.load(info, self.complaint_id)


@strawberry.input(
    description=(
        "A customer the incident harmed. The contact is encrypted at rest and only its masked "
        "form is shown; follow-up visits (a day and a week later unless `visitOffsetsHours` "
        "says otherwise) and a compensation (with an amount) are added."
    )
)
class AddAffectedUserInput:
    incident_id: relay.GlobalID
    name: str
    contact_kind: ContactKind
    contact: str
    follow_up_due_at: datetime | None = strawberry.field(
        default=None,
        description="When the first visit is due; without `visitOffsetsHours`, the only one.",
    )
    compensation_amount: float | None = None
    visit_offsets_hours: list[int] | None = strawberry.field(
        default=None,
        description="When each visit is due, in hours from now, increasing; default [24, 168].",
    )
    owner_person_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The person who makes the visits and may reveal the contact."
    )
    complaint_id: uuid.UUID | None = strawberry.field(
        default=None, description="The `databaseId` of the complaint the user filed."
    )
