"""Affected users (受影响用户): follow-up visits and compensation as tasks, contacts kept private.

Seed 002 §三(三)3 asks that affected users be visited again and their feedback collected.
A user's contact detail is needed only by the person who calls them, so it is stored only
as AES-GCM ciphertext under the organization's own key for it, bound to its row, and
everything else (command answers, the timeline, logs, the review) sees the masked form.
`reveal_contact` is the one way back to the clear value, and it leaves a trace on the
timeline when an actor is given; the `RevealContact` command (`reveal`) adds who may ask
and the audit entry.

A follow-up is a schedule of visits (回访: by default a day and a week after the user is
recorded), one task each with its own due time, owned by a person and watched by the
follow-up deadline pass (`deadlines`). Completing a visit records its outcome (reached,
satisfied, compensation paid) and the feedback the user gave (收集改进意见), kept masked.
"""

import uuid
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import ContactKind, FollowUpKind, TaskStatus
from libs.contracts.messages import CommandResult, ErrorCode, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import AddAffectedUser, CompleteFollowUp, UpdateFollowUp
from libs.contracts.vocabulary import FOLLOW_UP_KIND_LABELS
from libs.database.owned import owned
from libs.database.tables import AffectedUser, Complaint, FollowUpTask, Incident, Person
from libs.ids import new_id
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
from services.incidents.answers import existing, refusal, refuse, shown
from services.incidents.repository import belonging_to

FOLLOW_UP_WITHIN = timedelta(hours=24)
# The visits a follow-up schedule makes unless the command says otherwise: +1 d and +7 d.
DEFAULT_VISIT_OFFSETS_HOURS = (24, 168)
LONGEST_OFFSET_HOURS = 24 * 366

# Timeline kinds this module writes (the column holds free text up to 32 characters).
AFFECTED_USER_ADDED = "affected_user_added"
FOLLOW_UP_DONE = "follow_up_done"
FOLLOW_UP_CHANGED = "follow_up_changed"
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
    visits = _visit_times(command, now)
    if isinstance(visits, Outcome):
        return visits
    org = command.organization_id
    if command.owner_person_id is not None:
        owner = await owned(session, Person, org, command.owner_person_id)
        if owner is None:
            return Outcome.answer(not_found("person", command.owner_person_id, "ownerPersonId"))
        if owner.deactivated_at is not None:
            message = "the person was deactivated; give the follow-up to someone active"
            return refuse(ErrorCode.INVALID, message, "ownerPersonId")
    complaint = command.complaint_id
    if complaint is not None and await owned(session, Complaint, org, complaint) is None:
        return Outcome.answer(not_found("complaint", command.complaint_id, "complaintId"))
    user = AffectedUser(
        id=new_id(),
        **belonging_to(incident),
        name_masked=mask_name(name),
        contact_kind=kind.value,
        contact_masked=mask_contact(kind, contact),
        contact_cipher=b"",
        created_by=command.actor,
        created_at=now,
        complaint_id=command.complaint_id,
    )
    user.contact_cipher = encrypt(key, contact, contact_context(user))
    session.add(user)
    await session.flush()
    owner_id = command.owner_person_id
    tasks = [
        _task(user, FollowUpKind.FOLLOW_UP, due_at=due_at, visit=number, owner=owner_id)
        for number, due_at in enumerate(visits, start=1)
    ]
    if command.compensation_amount is not None:
        tasks.append(
            _task(
                user,
                FollowUpKind.COMPENSATION,
                due_at=visits[0],
                amount=command.compensation_amount,
                owner=owner_id,
            )
        )
    session.add_all(tasks)
    message = f"登记受影响用户{user.name_masked}（{user.contact_masked}），安排{len(visits)}次回访"
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
        if (refused := _outcome_refusal(command)) is not None:
            return refused
        user = await session.get(AffectedUser, task.affected_user_id)
        incident = await session.get(Incident, task.incident_id)
        # A note or feedback is free text a responder may paste a number into: kept masked.
        note = mask_text(command.note) if command.note else None
        task.status = TaskStatus.DONE.value
        task.completed_at = now
        if note:
            task.note = note
        _record_outcome(task, command)
        session.add(task)
        if incident is not None and user is not None:
            label = FOLLOW_UP_KIND_LABELS[FollowUpKind(task.kind)]
            if task.visit:
                label = f"第{task.visit}次{label}"
            message = f"受影响用户{user.name_masked}的{label}已完成{_outcome_words(task)}"
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


@answering
async def update_follow_up(
    session: AsyncSession, command: UpdateFollowUp, *, now: datetime
) -> CommandResult:
    """Give an open follow-up another owner (an active person) or a new due time.

    A new due time is watched afresh: the overdue mark and its escalation are cleared.
    """
    org = command.organization_id
    task = await existing(session, FollowUpTask, org, command.task_id, "follow-up", "taskId",
                          lock=True)  # fmt: skip
    if task.status == TaskStatus.DONE.value:
        message = "the follow-up is done; it keeps the owner and due time it was done with"
        raise Refused(refusal(ErrorCode.INVALID_TRANSITION, message, "taskId", status=task.status))
    changes = []
    if command.owner_person_id is not None:
        person = await existing(session, Person, org, command.owner_person_id, "person",
                                "ownerPersonId")  # fmt: skip
        if person.deactivated_at is not None:
            message = "the person was deactivated; give the follow-up to someone active"
            raise Refused(refusal(ErrorCode.INVALID, message, "ownerPersonId"))
        task.owner_person_id = person.id
        changes.append(f"负责人改为{person.name}")
    if command.due_at is not None:
        task.due_at = command.due_at
        task.overdue_at = None
        task.escalated_to_person_id = None
        changes.append(f"截止时间改为{command.due_at.isoformat()}")
    session.add(task)
    user = await session.get(AffectedUser, task.affected_user_id)
    incident = await session.get(Incident, task.incident_id)
    if changes and user is not None and incident is not None:
        label = FOLLOW_UP_KIND_LABELS[FollowUpKind(task.kind)]
        which = f"第{task.visit}次{label}" if task.visit else label
        timeline.record(
            session,
            incident,
            FOLLOW_UP_CHANGED,
            f"受影响用户{user.name_masked}的{which}：{'，'.join(changes)}",
            actor=command.actor,
            at=now,
            data={"task_id": str(task.id)},
        )
    await session.flush()
    return CommandResult.success(**follow_up_view(task))


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
    contact = decrypt(key, user.contact_cipher, contact_context(user))
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


def contact_context(user: AffectedUser) -> Context:
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
        "complaint_id": str(user.complaint_id) if user.complaint_id else None,
        "tasks": [follow_up_view(task) for task in tasks],
    }


def follow_up_view(task: FollowUpTask) -> dict[str, Any]:
    """Return a follow-up or compensation task as answered to clients."""
    return shown(
        task,
        "id",
        "affected_user_id",
        "kind",
        "status",
        "due_at",
        "amount",
        "note",
        "completed_at",
        "visit",
        "owner_person_id",
        "reached",
        "satisfied",
        "compensation_paid",
        "paid_amount",
        "currency",
        "feedback",
    )


def _visit_times(command: AddAffectedUser, now: datetime) -> list[datetime] | Outcome:
    """Return when each visit is due, or the refusal of an impossible schedule.

    A command with only `follow_up_due_at` (as clients sent before schedules) gets that one
    visit; otherwise each offset after now is a visit, the first at `follow_up_due_at` if set.
    """
    offsets = command.visit_offsets_hours
    if offsets is None and command.follow_up_due_at is not None:
        return [command.follow_up_due_at]
    hours = list(offsets or DEFAULT_VISIT_OFFSETS_HOURS)
    if any(not 0 < hour <= LONGEST_OFFSET_HOURS for hour in hours):
        message = f"each visit is 1 to {LONGEST_OFFSET_HOURS} hours after now"
        return refuse(ErrorCode.INVALID, message, "visitOffsetsHours")
    if any(later <= earlier for earlier, later in pairwise(hours)):
        return refuse(ErrorCode.INVALID, "visits must come one after another", "visitOffsetsHours")
    times = [now + timedelta(hours=hour) for hour in hours]
    if command.follow_up_due_at is not None:
        times[0] = command.follow_up_due_at
    return times


def _outcome_refusal(command: CompleteFollowUp) -> Outcome | None:
    """Refuse a payment that contradicts itself: an amount unpaid, a currency of nothing."""
    if command.paid_amount is not None and command.compensation_paid is False:
        return refuse(ErrorCode.INVALID, "an amount paid needs compensationPaid", "paidAmount")
    if command.currency is not None and command.paid_amount is None:
        return refuse(ErrorCode.INVALID, "a currency needs the paidAmount", "currency")
    return None


def _record_outcome(task: FollowUpTask, command: CompleteFollowUp) -> None:
    task.reached = command.reached
    task.satisfied = command.satisfied
    paid = command.compensation_paid
    task.compensation_paid = True if paid is None and command.paid_amount is not None else paid
    task.paid_amount = command.paid_amount
    task.currency = command.currency
    feedback = (command.feedback or "").strip()
    task.feedback = mask_text(feedback) if feedback else None


def _outcome_words(task: FollowUpTask) -> str:
    """Say what came of a visit in the timeline's words: （已联系上，满意，已补偿100CNY）."""
    words = []
    if task.reached is not None:
        words.append("已联系上" if task.reached else "未联系上")
    if task.satisfied is not None:
        words.append("满意" if task.satisfied else "不满意")
    if task.compensation_paid:
        amount = f"{task.paid_amount:g}{task.currency or ''}" if task.paid_amount else ""
        words.append(f"已补偿{amount}")
    return f"（{'，'.join(words)}）" if words else ""


def _task(
    user: AffectedUser,
    kind: FollowUpKind,
    *,
    due_at: datetime,
    amount: float | None = None,
    visit: int | None = None,
    owner: uuid.UUID | None = None,
) -> FollowUpTask:
    return FollowUpTask(
        id=new_id(),
        organization_id=user.organization_id,
        affected_user_id=user.id,
        incident_id=user.incident_id,
        kind=kind.value,
        status=TaskStatus.OPEN.value,
        due_at=due_at,
        amount=amount,
        visit=visit,
        owner_person_id=owner,
    )
