"""The incident summary every integration event carries (`IncidentSummary`).

Chat cards and webhook receivers show tier, watchlist, why, what is due and where the
crisis is heading at its current pace (`libs.forecast`); reading it
from the event saves each of them a call back. The summary is read in the transaction that
emits the event, after the change was applied, so it shows the incident as the change left
it. Texts are masked here already, and affected users are never read: their contact data
stays in this service.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, CrisisType, IncidentStatus, TaskStatus, TeamRole, Tier
from libs.contracts.response import (
    IncidentForecast,
    IncidentSummary,
    IncidentTaskSummary,
    WatchlistRef,
)
from libs.contracts.vocabulary import is_overdue
from libs.database.tables import Incident, Watchlist
from libs.forecast import forecast
from libs.forecast.contract import as_contract
from libs.forecast.inputs import trajectory
from libs.privacy import mask_text
from services.incidents import repository

E = TypeVar("E", bound=StrEnum)


async def incident_summary(
    session: AsyncSession, incident_id: uuid.UUID, *, at: datetime
) -> IncidentSummary | None:
    """Return the summary of the incident as it stands in `session`; tasks past `at` are overdue."""
    # The session's own copy, so a change not yet flushed is already in the summary.
    incident = await session.get(Incident, incident_id)
    if incident is None:
        return None
    watchlist = await session.get(Watchlist, incident.watchlist_id)
    return IncidentSummary(
        id=incident.id,
        title=mask_text(incident.title),
        status=IncidentStatus(incident.status),
        tier=Tier(incident.tier),
        crisis_type=_member(CrisisType, incident.crisis_type),
        watchlist=WatchlistRef(
            id=incident.watchlist_id, name=mask_text(watchlist.name) if watchlist else ""
        ),
        detected_at=incident.detected_at,
        reasons=[mask_text(reason) for reason in await latest_reasons(session, incident.id)],
        tasks=await open_tasks(session, incident.id, at=at),
        forecast=await incident_forecast(session, incident, at=at),
        drill=incident.drill,
    )


async def incident_forecast(
    session: AsyncSession, incident: Incident, *, at: datetime
) -> IncidentForecast | None:
    """Return where the open incident is heading at `at`; None once it is closed."""
    read = await trajectory(session, incident, at)
    return as_contract(forecast(read)) if read is not None else None


async def latest_reasons(session: AsyncSession, incident_id: uuid.UUID) -> list[str]:
    """Return why the incident stands at its tier, from the latest timeline entry that says."""
    latest = await repository.latest_reason_data(session, incident_id)
    reasons = latest.get("reasons")
    if reasons is None:
        reasons = [latest.get("reason")]
    return [str(reason) for reason in reasons if reason]


async def open_tasks(
    session: AsyncSession, incident_id: uuid.UUID, *, at: datetime
) -> list[IncidentTaskSummary]:
    """Return the incident's tasks not yet done, soonest deadline first."""
    return [
        IncidentTaskSummary(
            id=task.id,
            kind=task.kind,
            title=mask_text(task.title),
            role=_member(TeamRole, task.role),
            channel=_member(Channel, task.channel),
            due_at=task.due_at,
            overdue=is_overdue(TaskStatus(task.status), task.due_at, task.breached_at, at),
        )
        for task in await repository.tasks_not_done(session, incident_id)
    ]


def _member(enum: type[E], value: str | None) -> E | None:
    """Return `value` as a member of `enum`, or None for a value it does not know."""
    try:
        return enum(value) if value else None
    except ValueError:
        return None
