"""SQL of response tasks: claiming passed deadlines, who holds a role, a task to complete."""

import uuid
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import TaskStatus, TeamRole
from libs.database.predicates import incident_open
from libs.database.tables import Incident, IncidentMember, ResponseTask


async def claim_breaches(
    session: AsyncSession, now: datetime, escalation: dict[str, str], *, limit: int
) -> list[Any]:
    """Mark passed, unclaimed tasks of open incidents overdue in one statement; return them.

    Each is escalated to `escalation[role]` (the commander for a role not listed). The inner
    select locks the candidates and skips rows another watchdog (or a command completing the
    task) holds; the outer predicates are re-checked on the latest row version, so a task
    claimed or completed meanwhile is never returned twice.
    """
    task = ResponseTask
    due = and_(
        col(task.due_at) <= now,
        col(task.status) == TaskStatus.OPEN.value,
        col(task.breached_at).is_(None),
    )
    candidates = (
        select(col(task.id))
        .join(Incident, col(Incident.id) == col(task.incident_id))
        .where(due, incident_open())
        .order_by(col(task.due_at))
        .limit(limit)
        .with_for_update(of=task, skip_locked=True)
    )
    escalate = case(escalation, value=col(task.role), else_=TeamRole.COMMANDER.value)
    statement = (
        update(task)
        .where(col(task.id).in_(candidates.scalar_subquery()), due)
        .values(status=TaskStatus.OVERDUE.value, breached_at=now, escalated_to=escalate)
        .returning(
            col(task.id),
            col(task.organization_id),
            col(task.incident_id),
            col(task.kind),
            col(task.title),
            col(task.position),
            col(task.role),
            col(task.channel),
            col(task.due_at),
            col(task.breached_at),
            col(task.escalated_to),
        )
    )
    result = await session.exec(statement)
    return list(result.all())


class Holder(NamedTuple):
    """Who holds a role on an incident's team: their name, and their person when known."""

    name: str
    person_id: uuid.UUID | None


async def role_holders(
    session: AsyncSession, incident_ids: set[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], Holder]:
    """Return who holds each role on these incidents (the earliest assigned, if several)."""
    result = await session.exec(
        select(
            IncidentMember.incident_id,
            IncidentMember.role,
            IncidentMember.person,
            IncidentMember.person_id,
        )
        .where(col(IncidentMember.incident_id).in_(incident_ids))
        .order_by(col(IncidentMember.assigned_at).desc(), col(IncidentMember.person).desc())
    )
    # Ordered latest first, so the earliest assignment is written last and wins.
    return {
        (incident_id, role): Holder(name, person_id)
        for incident_id, role, name, person_id in result.all()
    }
