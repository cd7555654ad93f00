"""Recurrence: a new incident that resembles a past one remembers it and revives its lessons.

A past incident resembles a new one when it watched the same watchlist, is over (resolved
or closed) and had the same crisis type or the same story. The most recent such incident
becomes `recurrence_of_id`, and the improvement actions its review committed to that are
not done yet — its own and those of the incidents it recurred from in turn — are opened
again and point to the new incident: the crisis came back, so the fix is due again.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus
from libs.database.tables import ImprovementAction, Incident
from services.incidents import timeline

DONE = "done"
OPEN = "open"
# How far back through recurrence links the unfinished actions are collected.
MAX_CHAIN = 20
_OVER = (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value)


@dataclass(frozen=True)
class Recurrence:
    """The past incident a new one recurs from, why, and the actions reopened."""

    past: Incident
    matched: list[str]
    reopened_actions: list[uuid.UUID]


async def find_past(session: AsyncSession, incident: Incident) -> Incident | None:
    """Return the latest finished incident of the same watchlist with the same type or story."""
    similar: list[ColumnElement[bool]] = []
    if incident.crisis_type is not None:
        similar.append(col(Incident.crisis_type) == incident.crisis_type)
    if incident.story_id is not None:
        similar.append(col(Incident.story_id) == incident.story_id)
    if not similar:
        return None
    result = await session.exec(
        select(Incident)
        .where(
            Incident.organization_id == incident.organization_id,
            Incident.watchlist_id == incident.watchlist_id,
            Incident.id != incident.id,
            col(Incident.status).in_(_OVER),
            or_(*similar),
        )
        .order_by(
            func.coalesce(Incident.resolved_at, Incident.detected_at).desc(),
            col(Incident.id),
        )
        .limit(1)
    )
    return result.first()


async def _chain(session: AsyncSession, past: Incident) -> list[uuid.UUID]:
    ids = [past.id]
    following = past.recurrence_of_id
    while following is not None and following not in ids and len(ids) < MAX_CHAIN:
        ids.append(following)
        result = await session.exec(
            select(Incident.recurrence_of_id).where(Incident.id == following)
        )
        following = result.first()
    return ids


async def link(session: AsyncSession, incident: Incident, *, now: datetime) -> Recurrence | None:
    """Link a newly opened `incident` to the past one it resembles, if any."""
    past = await find_past(session, incident)
    if past is None:
        return None
    matched = []
    if incident.crisis_type is not None and past.crisis_type == incident.crisis_type:
        matched.append("crisis_type")
    if incident.story_id is not None and past.story_id == incident.story_id:
        matched.append("story")
    incident.recurrence_of_id = past.id
    session.add(incident)
    result = await session.exec(
        select(ImprovementAction)
        .where(
            col(ImprovementAction.incident_id).in_(await _chain(session, past)),
            ImprovementAction.status != DONE,
        )
        .order_by(col(ImprovementAction.created_at), col(ImprovementAction.id))
        .with_for_update()
    )
    reopened: list[uuid.UUID] = []
    for action in result.all():
        action.status = OPEN
        action.reopened_by_incident_id = incident.id
        session.add(action)
        reopened.append(action.id)
    timeline.recurrence_linked(
        session, incident, past=past, matched=matched, reopened_actions=reopened, at=now
    )
    return Recurrence(past=past, matched=matched, reopened_actions=reopened)
