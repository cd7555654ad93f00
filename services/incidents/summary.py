"""The incident summary every integration event carries (`IncidentSummary`).

Chat cards and webhook receivers show tier, watchlist, why and what is due; reading it
from the event saves each of them a call back. The summary is read in the transaction that
emits the event, after the change was applied, so it shows the incident as the change left
it. Texts are masked here already, and affected users are never read: their contact data
stays in this service.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import and_, or_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, CrisisType, IncidentStatus, TaskStatus, TeamRole, Tier
from libs.contracts.response import IncidentSummary, IncidentTaskSummary, WatchlistRef
from libs.database.tables import Incident, ResponseTask, TimelineEvent, Watchlist
from libs.privacy import mask_text

# Timeline kinds written by `timeline.py`; a tier changed by hand carries one `reason`.
_TIER_CHANGED = "tier_changed"
_NOT_DONE = (TaskStatus.OPEN.value, TaskStatus.OVERDUE.value)

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
    )


async def latest_reasons(session: AsyncSession, incident_id: uuid.UUID) -> list[str]:
    """Return why the incident stands at its tier, from the latest timeline entry that says.

    Signals (opening, joining, raising, reopening) record their `reasons`; a tier changed by
    hand records the person's `reason`.
    """
    data = type_coerce(TimelineEvent.data, JSONB)
    result = await session.exec(
        select(TimelineEvent.data)
        .where(
            col(TimelineEvent.incident_id) == incident_id,
            or_(
                data.has_key("reasons"),
                and_(col(TimelineEvent.kind) == _TIER_CHANGED, data.has_key("reason")),
            ),
        )
        .order_by(col(TimelineEvent.occurred_at).desc())
        .limit(1)
    )
    latest = result.first()
    if latest is None:
        return []
    reasons = latest.get("reasons")
    if reasons is None:
        reasons = [latest.get("reason")]
    return [str(reason) for reason in reasons if reason]


async def open_tasks(
    session: AsyncSession, incident_id: uuid.UUID, *, at: datetime
) -> list[IncidentTaskSummary]:
    """Return the incident's tasks not yet done, soonest deadline first."""
    # Reloaded even if already in the session: the deadline watchdog marks tasks with an
    # UPDATE that rows loaded earlier would not show.
    result = await session.exec(
        select(ResponseTask)
        .where(
            col(ResponseTask.incident_id) == incident_id, col(ResponseTask.status).in_(_NOT_DONE)
        )
        .order_by(col(ResponseTask.due_at), col(ResponseTask.position), col(ResponseTask.kind))
        .execution_options(populate_existing=True)
    )
    return [
        IncidentTaskSummary(
            id=task.id,
            kind=task.kind,
            title=mask_text(task.title),
            role=_member(TeamRole, task.role),
            channel=_member(Channel, task.channel),
            due_at=task.due_at,
            overdue=task.breached_at is not None or task.due_at < at,
        )
        for task in result.all()
    ]


def _member(enum: type[E], value: str | None) -> E | None:
    """Return `value` as a member of `enum`, or None for a value it does not know."""
    try:
        return enum(value) if value else None
    except ValueError:
        return None
