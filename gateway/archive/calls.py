"""The people an incident called on, for its dossier: pages (值班呼叫) and follow-up visits
(回访) with what came of them, and the names of the people who acted.

A follow-up names its affected user by id only: the user's name and contact stay out of
the archive, as everywhere but the reveal itself (whose audit entry is in the dossier).
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import AffectedUser, FollowUpTask, Incident, Page, Person
from libs.documents.canonical import iso_utc, iso_utc_or_none


@dataclass(frozen=True)
class Calls:
    """An incident's pages, follow-up visits and the ids of its affected users."""

    pages: list[Page]
    follow_ups: list[FollowUpTask]
    affected_users: list[uuid.UUID]


async def calls_of(session: AsyncSession, incident: Incident) -> Calls:
    """Read the incident's pages and follow-ups, oldest first, within its organization."""
    mine = (col(Page.organization_id) == incident.organization_id,)
    pages = await session.exec(
        select(Page)
        .where(col(Page.incident_id) == incident.id, *mine)
        .order_by(col(Page.paged_at), col(Page.id))
    )
    visits = await session.exec(
        select(FollowUpTask)
        .where(
            col(FollowUpTask.incident_id) == incident.id,
            col(FollowUpTask.organization_id) == incident.organization_id,
        )
        .order_by(col(FollowUpTask.due_at), col(FollowUpTask.visit), col(FollowUpTask.id))
    )
    users = await session.exec(
        select(AffectedUser.id).where(
            col(AffectedUser.incident_id) == incident.id,
            col(AffectedUser.organization_id) == incident.organization_id,
        )
    )
    return Calls(list(pages.all()), list(visits.all()), sorted(users.all()))


async def names_of(
    session: AsyncSession, incident: Incident, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, str]:
    """Return the names of the organization's people among `ids`."""
    wanted = {person for person in ids if person is not None}
    if not wanted:
        return {}
    found = await session.exec(
        select(Person.id, Person.name).where(
            col(Person.id).in_(wanted), col(Person.organization_id) == incident.organization_id
        )
    )
    return dict(found.all())


def page_json(page: Page, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """Return one page as the dossier keeps it."""
    return {
        "role": page.role,
        "person": names.get(page.person_id),
        "person_id": str(page.person_id),
        "reason": page.reason,
        "task_id": str(page.task_id) if page.task_id else None,
        "paged_at": iso_utc(page.paged_at),
        "acknowledged_at": iso_utc_or_none(page.acknowledged_at),
        "acknowledged_by": page.acknowledged_by,
    }


def follow_up_json(task: FollowUpTask, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    """Return one follow-up as the dossier keeps it: its owner and outcome, not the user."""
    return {
        "id": str(task.id),
        "affected_user_id": str(task.affected_user_id),
        "kind": task.kind,
        "visit": task.visit,
        "status": task.status,
        "owner": names.get(task.owner_person_id) if task.owner_person_id else None,
        "due_at": iso_utc_or_none(task.due_at),
        "overdue_at": iso_utc_or_none(task.overdue_at),
        "escalated_to": (
            names.get(task.escalated_to_person_id) if task.escalated_to_person_id else None
        ),
        "completed_at": iso_utc_or_none(task.completed_at),
        "reached": task.reached,
        "satisfied": task.satisfied,
        "compensation_paid": task.compensation_paid,
        "paid_amount": task.paid_amount,
        "currency": task.currency,
        "feedback": task.feedback,
    }
