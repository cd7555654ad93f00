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

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Incident
from services.incidents import timeline
from services.incidents.signals import repository

OPEN = "open"
# How far back through recurrence links the unfinished actions are collected.
MAX_CHAIN = 20


@dataclass(frozen=True)
class Recurrence:
    """The past incident a new one recurs from, why, and the actions reopened."""

    past: Incident
    matched: list[str]
    reopened_actions: list[uuid.UUID]


async def _chain(session: AsyncSession, past: Incident) -> list[uuid.UUID]:
    ids = [past.id]
    following = past.recurrence_of_id
    while following is not None and following not in ids and len(ids) < MAX_CHAIN:
        ids.append(following)
        following = await repository.recurred_from(session, following)
    return ids


async def link(session: AsyncSession, incident: Incident, *, now: datetime) -> Recurrence | None:
    """Link a newly opened `incident` to the past one it resembles, if any."""
    past = await repository.latest_finished_like(session, incident)
    if past is None:
        return None
    matched = []
    if incident.crisis_type is not None and past.crisis_type == incident.crisis_type:
        matched.append("crisis_type")
    if incident.story_id is not None and past.story_id == incident.story_id:
        matched.append("story")
    incident.recurrence_of_id = past.id
    session.add(incident)
    reopened: list[uuid.UUID] = []
    for action in await repository.unfinished_actions(session, await _chain(session, past)):
        action.status = OPEN
        action.reopened_by_incident_id = incident.id
        session.add(action)
        reopened.append(action.id)
    timeline.recurrence_linked(
        session, incident, past=past, matched=matched, reopened_actions=reopened, at=now
    )
    return Recurrence(past=past, matched=matched, reopened_actions=reopened)
