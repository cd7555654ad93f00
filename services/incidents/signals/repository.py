"""SQL of signal grouping: the incidents a signal may land in, snoozes, past incidents."""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import ImprovementStatus, IncidentStatus
from libs.database.predicates import incident_open
from libs.database.tables import (
    AppliedSignal,
    ImprovementAction,
    Incident,
    TimelineEvent,
    Watchlist,
    WatchlistSnooze,
)
from services.incidents.repository import TIER_CHANGED

# Improvement actions a recurrence leaves alone: the work was finished (or given up for a reason).
FINISHED = [status.value for status in ImprovementStatus if status.finished]
# The snooze holding a signal, beside the snoozes of the same watchlist still running.
Holding = aliased(WatchlistSnooze)
_OVER = (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value)


async def latest_incident_of_watchlist(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> Incident | None:
    """Return the watchlist's most recently detected incident, whatever its status."""
    result = await session.exec(
        select(Incident)
        .where(Incident.organization_id == organization_id, Incident.watchlist_id == watchlist_id)
        .order_by(col(Incident.detected_at).desc(), col(Incident.id))
        .limit(1)
    )
    return result.first()


async def incident_for_update(session: AsyncSession, incident_id: uuid.UUID) -> Incident | None:
    """Return the incident, locked for update."""
    result = await session.exec(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    )
    return result.first()


async def first_open_incident(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    watchlist_id: uuid.UUID | None = None,
    story_id: uuid.UUID | None = None,
    drill: bool | None = None,
) -> Incident | None:
    """Return the first opened open incident of the watchlist or story, locked for update;
    `drill` keeps to drills' incidents or to real ones."""
    query = select(Incident).where(Incident.organization_id == organization_id, incident_open())
    if drill is not None:
        query = query.where(Incident.drill == drill)
    if watchlist_id is not None:
        query = query.where(Incident.watchlist_id == watchlist_id)
    if story_id is not None:
        query = query.where(Incident.story_id == story_id)
    result = await session.exec(
        query.order_by(col(Incident.detected_at), col(Incident.id)).limit(1).with_for_update()
    )
    return result.first()


async def resolved_since(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID, since: datetime
) -> Incident | None:
    """Return the watchlist's incident resolved most recently at or after `since`, locked."""
    result = await session.exec(
        select(Incident)
        .where(
            Incident.organization_id == organization_id,
            Incident.watchlist_id == watchlist_id,
            Incident.status == IncidentStatus.RESOLVED.value,
            col(Incident.resolved_at) >= since,
        )
        .order_by(col(Incident.resolved_at).desc(), col(Incident.id))
        .limit(1)
        .with_for_update()
    )
    return result.first()


async def watchlist_exists(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> bool:
    """Return whether the organization has this watchlist."""
    result = await session.exec(
        select(Watchlist.id).where(
            Watchlist.id == watchlist_id, Watchlist.organization_id == organization_id
        )
    )
    return result.first() is not None


async def watchlist_kind(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> str | None:
    """Return the watchlist's kind, or None when the organization has no such watchlist."""
    result = await session.exec(
        select(Watchlist.kind).where(
            Watchlist.id == watchlist_id, Watchlist.organization_id == organization_id
        )
    )
    return result.first()


async def silenced_until(
    session: AsyncSession, watchlist_id: uuid.UUID, at: datetime
) -> datetime | None:
    """Return the latest expiry among the watchlist's snoozes still running at `at`."""
    result = await session.exec(
        select(func.max(WatchlistSnooze.until)).where(
            WatchlistSnooze.watchlist_id == watchlist_id, WatchlistSnooze.until > at
        )
    )
    return result.first()


async def latest_finished_like(session: AsyncSession, incident: Incident) -> Incident | None:
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
            col(Incident.id) != incident.id,
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


async def recurred_from(session: AsyncSession, incident_id: uuid.UUID) -> uuid.UUID | None:
    """Return the incident that `incident_id` recurred from, if any."""
    result = await session.exec(select(Incident.recurrence_of_id).where(Incident.id == incident_id))
    return result.first()


async def unfinished_actions(
    session: AsyncSession, incident_ids: list[uuid.UUID]
) -> list[ImprovementAction]:
    """Return the improvement actions of these incidents not finished (done, verified or
    dropped), locked for update."""
    result = await session.exec(
        select(ImprovementAction)
        .where(
            col(ImprovementAction.incident_id).in_(incident_ids),
            col(ImprovementAction.status).not_in(FINISHED),
        )
        .order_by(col(ImprovementAction.created_at), col(ImprovementAction.id))
        .with_for_update()
    )
    return list(result.all())


async def snoozes_holding(session: AsyncSession, watchlist_id: uuid.UUID) -> list[WatchlistSnooze]:
    """Return the watchlist's snoozes that hold a signal back, locked for update."""
    result = await session.exec(
        select(WatchlistSnooze)
        .where(
            WatchlistSnooze.watchlist_id == watchlist_id,
            col(WatchlistSnooze.held_signal).is_not(None),
        )
        .order_by(col(WatchlistSnooze.until).desc(), col(WatchlistSnooze.id))
        .with_for_update()
    )
    return list(result.all())


async def last_snooze_running(
    session: AsyncSession, watchlist_id: uuid.UUID, at: datetime
) -> WatchlistSnooze | None:
    """Return the watchlist's snooze running at `at` that ends last, locked for update."""
    result = await session.exec(
        select(WatchlistSnooze)
        .where(WatchlistSnooze.watchlist_id == watchlist_id, WatchlistSnooze.until > at)
        .order_by(col(WatchlistSnooze.until).desc(), col(WatchlistSnooze.id))
        .limit(1)
        .with_for_update()
    )
    return result.first()


async def watchlists_out_of_silence_holding(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    """Return the watchlists silent no more at `at` whose last silence held a signal back."""
    running = select(WatchlistSnooze.id).where(
        col(WatchlistSnooze.watchlist_id) == col(Holding.watchlist_id),
        WatchlistSnooze.until > at,
    )
    result = await session.exec(
        select(Holding.watchlist_id)
        .where(col(Holding.held_signal).is_not(None), Holding.until <= at, ~running.exists())
        .distinct()
        .order_by(col(Holding.watchlist_id))
    )
    return list(result.all())


async def silence_ended(
    session: AsyncSession, watchlist_id: uuid.UUID, at: datetime
) -> datetime | None:
    """Return when the watchlist's last snooze ended before or at `at`."""
    result = await session.exec(
        select(func.max(WatchlistSnooze.until)).where(
            WatchlistSnooze.watchlist_id == watchlist_id, WatchlistSnooze.until <= at
        )
    )
    return result.first()


async def tier_set_by_hand(session: AsyncSession, incident_id: uuid.UUID) -> str | None:
    """Return the tier a person last set on the incident (by hand or by a merge), if any."""
    data = type_coerce(TimelineEvent.data, JSONB)
    result = await session.exec(
        select(data["to"].astext)
        .where(
            col(TimelineEvent.incident_id) == incident_id,
            col(TimelineEvent.kind) == TIER_CHANGED,
            data.has_key("reason"),
        )
        .order_by(col(TimelineEvent.occurred_at).desc())
        .limit(1)
    )
    return result.first()


async def mark_applied(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    signal_id: uuid.UUID,
    outcome: str,
    incident_id: uuid.UUID | None,
    at: datetime,
) -> None:
    """Insert the signal's applied mark, or replace what an earlier application recorded;
    a mark is only ever replaced by the same organization's."""
    await session.flush()  # the incident the mark names must exist before the mark does
    values = {"outcome": outcome, "incident_id": incident_id, "applied_at": at}
    await session.exec(
        insert(AppliedSignal)
        .values(organization_id=organization_id, signal_id=signal_id, **values)
        .on_conflict_do_update(
            index_elements=[col(AppliedSignal.signal_id)],
            set_=values,
            where=col(AppliedSignal.organization_id) == organization_id,
        )
    )
