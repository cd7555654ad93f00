"""Mutations for what follows the response: the review report, affected users, the reply library.

Each is the matching command of `libs.contracts.response`, answered by the incidents
service. Affected users come back masked only: the gateway never sees the contact in
clear after sending it, and never returns it.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.grouped_loaders import never_load
from gateway.schema.commands import (
    answered_id,
    dispatch,
    fetch,
    incident_status,
    not_found,
    owned,
    owned_for_change,
    refused,
    vanished,
)
from gateway.schema.enums import ContactKind
from gateway.schema.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from gateway.schema.mutations import forbidden
from gateway.schema.queries import as_utc
from gateway.schema.response_mutations import AS_ID, SERVICE
from gateway.schema.response_types import AffectedUser, FollowUp, ReplyCase, ReviewReport
from libs.contracts.messages import CommandResult
from libs.contracts.response import (
    AddAffectedUser,
    CompleteFollowUp,
    CompleteReview,
    FileReply,
    UpdateReview,
)
from libs.database import tables

ReviewResult = Annotated[
    ReviewReport | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("ReviewResult", description="The review report, or why not."),
]
AffectedUserResult = Annotated[
    AffectedUser | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("AffectedUserResult", description="The masked affected user, or why not."),
]
FollowUpResult = Annotated[
    FollowUp | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("FollowUpResult", description="The follow-up, or why not."),
]
ReplyCaseResult = Annotated[
    ReplyCase | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("ReplyCaseResult", description="The filed case, or why not."),
]


@strawberry.input(description="An improvement the review commits to.")
class ImprovementInput:
    action: str
    owner: str
    due_at: datetime | None = None


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


@strawberry.input(
    description=(
        "A case for the reply library (问答库): a stored mention or a question's text, its "
        "category and the reply used. Replies advising to delete posts are refused."
    )
)
class FileReplyInput:
    category: str
    reply: str
    incident_id: relay.GlobalID | None = None
    mention_id: relay.GlobalID | None = strawberry.field(
        default=None, description="With a mention, the case's text is the mention's text."
    )
    text: str | None = None


async def _read_review(info: Info, incident_id: uuid.UUID) -> tables.ReviewReport | None:
    statement = select(tables.ReviewReport).where(
        col(tables.ReviewReport.incident_id) == incident_id,
        col(tables.ReviewReport.organization_id) == info.context.principal.organization_id,
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()


async def _read_affected_user(info: Info, user_id: uuid.UUID) -> tables.AffectedUser | None:
    # Masked columns only: the ciphertext is never loaded.
    statement = (
        select(tables.AffectedUser)
        .where(
            col(tables.AffectedUser.id) == user_id,
            col(tables.AffectedUser.organization_id) == info.context.principal.organization_id,
        )
        .options(never_load(tables.AffectedUser.contact_cipher))
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()


async def _review_answer(
    info: Info, incident: tables.Incident, result: CommandResult | InvalidInput
) -> ReviewResult:
    if isinstance(result, InvalidInput):
        return result
    if not result.ok:
        status = await incident_status(info, incident.id)
        return refused(result, service=SERVICE, current_status=status)
    row = await _read_review(info, incident.id)
    if row is None:
        raise vanished("Review of incident", incident.id)
    return ReviewReport.from_row(row)


@strawberry.type
class AftercareMutation:
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
        incident = await owned_for_change(
            info, tables.Incident, incident_id, "Incident", "incident"
        )
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
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
        result = await dispatch(
            info,
            # A refusal names the nested entry, e.g. `improvements[0].owner`.
            UpdateReview,
            incident_id=incident.id,
            root_cause=root_cause,
            improvements=entries,
        )
        return await _review_answer(info, incident, result)

    @strawberry.mutation(
        description="Mark the review complete; refused while a required section is empty."
    )
    async def complete_review(self, info: Info, incident_id: relay.GlobalID) -> ReviewResult:
        incident = await owned_for_change(
            info, tables.Incident, incident_id, "Incident", "incident"
        )
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        result = await dispatch(
            info,
            CompleteReview,
            incident_id=incident.id,
        )
        return await _review_answer(info, incident, result)

    @strawberry.mutation(
        description="Record a harmed customer; the answer carries masked data only."
    )
    async def add_affected_user(
        self, info: Info, input: AddAffectedUserInput
    ) -> AffectedUserResult:
        incident = await owned_for_change(
            info, tables.Incident, input.incident_id, "Incident", "incident"
        )
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        due = input.follow_up_due_at
        result = await dispatch(
            info,
            AddAffectedUser,
            incident_id=incident.id,
            name=input.name,
            contact_kind=input.contact_kind,
            contact=input.contact,
            follow_up_due_at=as_utc(due) if due is not None else None,
            compensation_amount=input.compensation_amount,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            status = await incident_status(info, incident.id)
            return refused(result, service=SERVICE, current_status=status)
        user_id = answered_id(result)
        row = await _read_affected_user(info, user_id)
        if row is None:
            raise vanished("Affected user", user_id)
        return AffectedUser.from_row(row)

    @strawberry.mutation(
        description="Mark a follow-up visit or a compensation done; `id` is its `databaseId`."
    )
    async def complete_follow_up(
        self, info: Info, id: uuid.UUID, note: str | None = None
    ) -> FollowUpResult:
        if (refusal := forbidden(info)) is not None:
            return refusal
        task = await fetch(info, tables.FollowUpTask, id)
        if task is None:
            return not_found("follow-up", id)
        result = await dispatch(
            info,
            CompleteFollowUp,
            task_id=task.id,
            note=note,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            status = await incident_status(info, task.incident_id)
            return refused(result, service=SERVICE, current_status=status, renames=AS_ID)
        row = await fetch(info, tables.FollowUpTask, task.id)
        if row is None:
            raise vanished("Follow-up", task.id)
        return FollowUp.from_row(row)

    @strawberry.mutation(description="File a case in the reply library (问答库).")
    async def file_reply(self, info: Info, input: FileReplyInput) -> ReplyCaseResult:
        if (refusal := forbidden(info)) is not None:
            return refusal
        incident_id: uuid.UUID | None = None
        if input.incident_id is not None:
            incident = await owned(info, tables.Incident, input.incident_id, "Incident")
            if incident is None:
                return not_found("incident", input.incident_id)
            incident_id = incident.id
        mention_id: uuid.UUID | None = None
        if input.mention_id is not None:
            mention = await owned(info, tables.Mention, input.mention_id, "Mention")
            if mention is None:
                return not_found("mention", input.mention_id)
            mention_id = mention.id
        result = await dispatch(
            info,
            FileReply,
            incident_id=incident_id,
            mention_id=mention_id,
            text=input.text,
            category=input.category,
            reply=input.reply,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE)
        case_id = answered_id(result)
        row = await fetch(info, tables.ReplyCase, case_id)
        if row is None:
            raise vanished("Reply case", case_id)
        return ReplyCase.from_row(row)
