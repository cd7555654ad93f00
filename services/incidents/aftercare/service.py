"""Affected users (受影响用户): follow-up visits and compensation as tasks, contacts kept private.

Seed 002 §三(三)3 asks that affected users be visited again and their feedback collected.
A user's contact detail is needed only by the person who calls them, so it is stored only
as AES-GCM ciphertext under the organization's own key for it, bound to its row, and
everything else (command answers, the timeline, logs, the review) sees the masked form.
`reveal_contact` is the one way back to the clear value, and it leaves a trace on the
timeline when an actor is given.
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import ContactKind, FollowUpKind, TaskStatus
from libs.contracts.messages import CommandResult, ErrorCode, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.response import AddAffectedUser, CompleteFollowUp
from libs.contracts.vocabulary import FOLLOW_UP_KIND_LABELS
from libs.database.owned import owned
from libs.database.tables import AffectedUser, FollowUpTask, Incident
from libs.privacy import (
    ContactError,
    Context,
    DataKey,
    Purpose,
    decrypt,
    encrypt,
    mask_contact,
    mask_name,
    mask_text,
    normalize_contact,
    row_context,
)
from services.incidents import timeline
from services.incidents.aftercare import repository as aftercare_repository
from services.incidents.answers import refuse, shown
from services.incidents.repository import belonging_to

FOLLOW_UP_WITHIN = timedelta(hours=24)

# Timeline kinds this module writes (the column holds free text up to 32 characters).
AFFECTED_USER_ADDED = "affected_user_added"
FOLLOW_UP_DONE = "follow_up_done"
CONTACT_REVEALED = "contact_revealed"


async def add_affected_user(
    session: AsyncSession, command: AddAffectedUser, key: DataKey | None, *, now: datetime
) -> Outcome:
    """Record a harmed customer and the follow-up (and compensation) owed to them.

    Without a data `key` nothing personal may be stored, so the command is refused.
    """
    if key is None:
        message = "contact data cannot be stored: CRISISWATCH_DATA_KEY is not set"
        return refuse(ErrorCode.INVALID, message, "contact")
    incident = await owned(session, Incident, command.organization_id, command.incident_id)
    if incident is None:
        return Outcome.answer(not_found("incident", command.incident_id, "incidentId"))
    kind = ContactKind(command.contact_kind)
    try:
        contact = normalize_contact(kind, command.contact)
    except ContactError as error:
        # The message names what is wrong, never the value itself.
        return refuse(ErrorCode.INVALID, str(error), "contact")
    name = command.name.strip()
    if not name:
        return refuse(ErrorCode.INVALID, "name is empty", "name")
    user = AffectedUser(
        id=uuid.uuid4(),
        **belonging_to(incident),
        name_masked=mask_name(name),
        contact_kind=kind.value,
        contact_masked=mask_contact(kind, contact),
        contact_cipher=b"",
        created_by=command.actor,
        created_at=now,
    )
    user.contact_cipher = encrypt(key, contact, _context(user))
    session.add(user)
    await session.flush()
    due_at = command.follow_up_due_at or now + FOLLOW_UP_WITHIN
    tasks = [_task(user, FollowUpKind.FOLLOW_UP, due_at=due_at)]
    if command.compensation_amount is not None:
        tasks.append(
            _task(
                user, FollowUpKind.COMPENSATION, due_at=due_at, amount=command.compensation_amount
            )
        )
    session.add_all(tasks)
    message = f"登记受影响用户{user.name_masked}（{user.contact_masked}），安排回访"
    if command.compensation_amount is not None:
        message += f"及补偿{command.compensation_amount:g}元"
    timeline.record(
        session,
        incident,
        AFFECTED_USER_ADDED,
        message,
        actor=command.actor,
        at=now,
        data={"affected_user_id": str(user.id), "contact_masked": user.contact_masked},
    )
    await session.flush()
    return Outcome.answer(CommandResult.success(**affected_user_view(user, tasks)))


async def complete_follow_up(
    session: AsyncSession, command: CompleteFollowUp, *, now: datetime
) -> Outcome:
    """Mark a follow-up visit or compensation done; doing it again changes nothing."""
    task = await owned(session, FollowUpTask, command.organization_id, command.task_id, lock=True)
    if task is None:
        return Outcome.answer(not_found("follow-up task", command.task_id, "taskId"))
    if task.status != TaskStatus.DONE.value:
        user = await session.get(AffectedUser, task.affected_user_id)
        incident = await session.get(Incident, task.incident_id)
        # A note is free text a responder may paste a number into: kept masked only.
        note = mask_text(command.note) if command.note else None
        task.status = TaskStatus.DONE.value
        task.completed_at = now
        if note:
            task.note = note
        session.add(task)
        if incident is not None and user is not None:
            label = FOLLOW_UP_KIND_LABELS[FollowUpKind(task.kind)]
            message = f"受影响用户{user.name_masked}的{label}已完成"
            if note:
                message += f"，备注：{note}"
            timeline.record(
                session,
                incident,
                FOLLOW_UP_DONE,
                message,
                actor=command.actor,
                at=now,
                data={"task_id": str(task.id), "kind": task.kind},
            )
        await session.flush()
    return Outcome.answer(CommandResult.success(**follow_up_view(task)))


async def reveal_contact(
    session: AsyncSession,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    key: DataKey,
    *,
    actor: str | None = None,
    now: datetime | None = None,
) -> str | None:
    """Return an affected user's contact in clear, or None when no such user is theirs.

    With `actor` and `now`, the look-up is written to the incident's timeline (without the
    value), so who saw whose contact stays on record.
    """
    user = await owned(session, AffectedUser, organization_id, user_id)
    if user is None:
        return None
    contact = decrypt(key, user.contact_cipher, _context(user))
    if actor is not None and now is not None:
        incident = await session.get(Incident, user.incident_id)
        if incident is not None:
            timeline.record(
                session,
                incident,
                CONTACT_REVEALED,
                f"{actor}查看了受影响用户{user.name_masked}的联系方式",
                actor=actor,
                at=now,
                data={"affected_user_id": str(user.id)},
            )
            await session.flush()
    return contact


async def list_affected_users(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Return the incident's affected users, masked, each with their tasks."""
    users = await aftercare_repository.affected_users(session, organization_id, incident_id)
    tasks = await aftercare_repository.follow_ups(session, organization_id, incident_id)
    return [
        affected_user_view(user, [task for task in tasks if task.affected_user_id == user.id])
        for user in users
    ]


def _context(user: AffectedUser) -> Context:
    """The user's contact is sealed under the organization's key for contacts, bound to the row."""
    return row_context(user.organization_id, user.id, Purpose.AFFECTED_USER_CONTACT)


def affected_user_view(user: AffectedUser, tasks: list[FollowUpTask]) -> dict[str, Any]:
    """Return what may be shown of an affected user: masked name and contact, and tasks."""
    return {
        "id": str(user.id),
        "incident_id": str(user.incident_id),
        "name": user.name_masked,
        "contact_kind": user.contact_kind,
        "contact": user.contact_masked,
        "created_by": user.created_by,
        "created_at": user.created_at.isoformat(),
        "tasks": [follow_up_view(task) for task in tasks],
    }


def follow_up_view(task: FollowUpTask) -> dict[str, Any]:
    """Return a follow-up or compensation task as answered to clients."""
    return shown(
        task, "id", "affected_user_id", "kind", "status", "due_at", "amount", "note", "completed_at"
    )


def _task(
    user: AffectedUser, kind: FollowUpKind, *, due_at: datetime, amount: float | None = None
) -> FollowUpTask:
    return FollowUpTask(
        id=uuid.uuid4(),
        organization_id=user.organization_id,
        affected_user_id=user.id,
        incident_id=user.incident_id,
        kind=kind.value,
        status=TaskStatus.OPEN.value,
        due_at=due_at,
        amount=amount,
    )
