"""Recording a harmed customer, completing or reassigning what is owed to them, and revealing
their contact to the person who calls them; incidents owns them all.

The name and contact are sealed under the data key before they are queued
(`libs.messaging.sealing`); the gateway never reads them back in clear. A revealed contact
is opened by the incidents service, which checks who asks and audits it, and comes back in
the answer's sealed `once`: the gateway passes it to the caller and keeps it nowhere.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Annotated, cast

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.aftercare.loaders import NO_CONTACT
from gateway.aftercare.types import AddAffectedUserInput, AffectedUser, FollowUp
from gateway.core.command_duty import refused_unless_commanding
from gateway.core.commands import (
    Change,
    Target,
    added_to_incident,
    from_result,
    of_incident,
)
from gateway.core.context import Info
from gateway.core.enums import ContactKind
from gateway.core.errors import (
    AnyRefusal,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    or_why_not,
    superseded_by,
)
from gateway.core.inputs import as_utc, input_fields, optional_id
from libs.contracts.messages import CommandResult
from libs.contracts.response import (
    AddAffectedUser,
    CompleteFollowUp,
    RevealContact,
    UpdateFollowUp,
)
from libs.database import tables
from libs.database.tables import FollowUpTask

AffectedUserResult = Annotated[
    AffectedUser | AnyRefusal, or_why_not("AffectedUserResult", "The masked affected user")
]
FollowUpResult = Annotated[FollowUp | AnyRefusal, or_why_not("FollowUpResult", "The follow-up")]


@strawberry.type(
    description=(
        "An affected user's contact in clear, shown to the caller this once and recorded in "
        "the audit log (who, when, why; never the value)."
    )
)
class RevealedContact:
    affected_user_id: uuid.UUID
    follow_up_id: uuid.UUID | None
    contact_kind: ContactKind
    contact: str = strawberry.field(description="The contact in clear. Do not store it.")
    contact_masked: str
    revealed_at: datetime
    audit_entry_id: uuid.UUID = strawberry.field(description="The audit entry of this reveal.")


RevealContactResult = Annotated[
    RevealedContact | InvalidInput | Conflict | NotFound | Forbidden,
    or_why_not("RevealContactResult", "The contact in clear"),
]


# The affected user the service recorded is read back with masked columns only.
ADD = added_to_incident(
    tables.AffectedUser, AffectedUser.from_row, "Affected user", options=NO_CONTACT
)
# Completing and updating a follow-up both answer with it read back afresh.
COMPLETE = of_incident(tables.FollowUpTask, "follow-up", "task_id", FollowUp.from_row)


async def _revealed(info: Info, result: CommandResult) -> RevealedContact | Conflict:
    """Build the answer from the service's; a replayed command's value is not shown again."""
    contact = result.once.get("contact")
    if not contact:
        return Conflict(
            message="This contact was shown once already for this request; ask again.",
            field="reason",
        )
    data = result.data
    follow_up = data.get("follow_up_id")
    return RevealedContact(
        affected_user_id=uuid.UUID(str(data["affected_user_id"])),
        follow_up_id=uuid.UUID(str(follow_up)) if follow_up else None,
        contact_kind=ContactKind(data["contact_kind"]),
        contact=contact,
        contact_masked=str(data["contact_masked"]),
        revealed_at=datetime.fromisoformat(str(data["revealed_at"])),
        audit_entry_id=uuid.UUID(str(data["audit_entry_id"])),
    )


REVEALING = (InvalidInput, Conflict, NotFound)
REVEAL_FOR_FOLLOW_UP = Change(
    Target(tables.FollowUpTask, "FollowUp", "follow-up", "follow_up_id"),
    from_result(_revealed),
    accept=REVEALING,
)
REVEAL_FOR_USER = Change(
    Target(
        tables.AffectedUser,
        "AffectedUser",
        "affected user",
        "affected_user_id",
        options=NO_CONTACT,
    ),
    from_result(_revealed),
    accept=REVEALING,
)


@strawberry.input(description="The follow-up done, and what came of it.")
class FollowUpCompleteInput:
    id: uuid.UUID = strawberry.field(description="The follow-up's `databaseId`.")
    note: str | None = None
    reached: bool | None = strawberry.field(default=None, description="The user was reached.")
    satisfied: bool | None = strawberry.field(
        default=None, description="The user was satisfied with how it was handled."
    )
    compensation_paid: bool | None = strawberry.field(
        default=None, description="Compensation was paid; implied by `paidAmount`."
    )
    paid_amount: float | None = None
    currency: str | None = strawberry.field(
        default=None, description="ISO 4217 (`CNY`); needs `paidAmount`."
    )
    feedback: str | None = strawberry.field(
        default=None,
        description="What the user said could be better (收集改进意见); stored masked, searchable.",
    )


@strawberry.input(description="Changes to an open follow-up; an omitted field stays.")
class FollowUpUpdateInput:
    id: uuid.UUID = strawberry.field(description="The follow-up's `databaseId`.")
    owner_person_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A person of your organization who makes the visit from now on."
    )
    due_at: datetime | None = strawberry.field(
        default=None, description="A new due time; watched again from now."
    )


@strawberry.input(description="Whose contact, and why it is needed.")
class RevealContactInput:
    affected_user_id: uuid.UUID | None = strawberry.field(
        default=None, description="The affected user's `databaseId` (or give `followUpId`)."
    )
    follow_up_id: uuid.UUID | None = strawberry.field(
        default=None, description="One of their follow-ups' `databaseId`."
    )
    reason: str = strawberry.field(description="Why the contact is needed; kept in the audit log.")


FOLLOWED_UP = "Mark a follow-up visit or a compensation done; `id` is its `databaseId`."
REVEALED = (
    "Show an affected user's contact in clear, for a reason, to the person assigned their "
    "follow-up or a commander of the incident; the reveal is written to the audit log and the "
    "timeline. Anyone else is Forbidden; Conflict while nobody is assigned."
)


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
            **input_fields(input, but=("incident_id", "follow_up_due_at", "owner_person_id")),
            follow_up_due_at=as_utc(due) if due is not None else None,
            owner_person_id=optional_id(input.owner_person_id, "Person", "ownerPersonId"),
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
        return await COMPLETE(info, input.id, CompleteFollowUp, **input_fields(input, but=("id",)))

    @strawberry.mutation(
        description=(
            "Give an open follow-up another owner (who may then reveal the contact) or a new "
            "due time, e.g. after it was escalated as overdue."
        )
    )
    async def follow_up_update(self, info: Info, input: FollowUpUpdateInput) -> FollowUpResult:
        if input.owner_person_id is not None:
            # A follow-up's owner may read the user's contact: not a duty to take for oneself.
            refused = await _refused_unless_commanding(info, input.id)
            if refused is not None:
                return refused
        due = input.due_at
        return await COMPLETE(
            info,
            input.id,
            UpdateFollowUp,
            owner_person_id=optional_id(input.owner_person_id, "Person", "ownerPersonId"),
            due_at=as_utc(due) if due is not None else None,
        )

    @strawberry.mutation(description=REVEALED)
    async def reveal_contact(self, info: Info, input: RevealContactInput) -> RevealContactResult:
        if (input.affected_user_id is None) == (input.follow_up_id is None):
            message = "Name either `affectedUserId` or `followUpId`."
            return InvalidInput(message=message, field="affectedUserId")
        if input.follow_up_id is not None:
            answer = await REVEAL_FOR_FOLLOW_UP(
                info, input.follow_up_id, RevealContact, reason=input.reason
            )
        else:
            assert input.affected_user_id is not None
            answer = await REVEAL_FOR_USER(
                info, input.affected_user_id, RevealContact, reason=input.reason
            )
        # `accept` leaves InvalidTransition out: the service never answers one here.
        return cast(RevealedContact | InvalidInput | Conflict | NotFound | Forbidden, answer)


async def _refused_unless_commanding(info: Info, follow_up_id: uuid.UUID) -> Forbidden | None:
    """Refuse a new owner unless an admin key or the incident's commander gives it."""
    async with info.context.sessions() as session:
        found = await session.exec(
            select(FollowUpTask.incident_id).where(
                col(FollowUpTask.id) == follow_up_id,
                col(FollowUpTask.organization_id) == info.context.principal.organization_id,
            )
        )
        incident_id = found.one_or_none()
    if incident_id is None:
        return None  # the change itself answers NotFound
    return await refused_unless_commanding(info, incident_id, "give a follow-up another owner")
