"""SQL every part of the incidents service shares: locks, incident look-ups, stored events.

Locking order, everywhere: a watchlist's advisory lock (and a story's, for signals), then
incident rows ordered by id, then their dependents (tasks, statements). Signals and
commands on one watchlist therefore queue up instead of deadlocking.
"""

import hashlib
import uuid
from typing import Any, Protocol, TypedDict, TypeVar

from sqlalchemy import and_, func, or_, type_coerce
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from libs.contracts.response import IntegrationEventEmitted
from libs.contracts.vocabulary import NOT_DONE_TASK_STATUSES, values
from libs.database.tables import (
    Drill,
    Incident,
    IntegrationEvent,
    ResponseTask,
    TimelineEvent,
)

# The timeline kind of a tier change; one made by hand carries a single `reason`.
TIER_CHANGED = "tier_changed"


def _lock_key(namespace: bytes, identifier: uuid.UUID) -> int:
    digest = hashlib.blake2b(namespace + identifier.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def watchlist_lock_key(watchlist_id: uuid.UUID) -> int:
    """Return the signed 64-bit advisory lock key that serializes one watchlist's changes."""
    return _lock_key(b"incident-watchlist:", watchlist_id)


def story_lock_key(story_id: uuid.UUID) -> int:
    """Return the advisory lock key that serializes signals of one story across watchlists."""
    return _lock_key(b"incident-story:", story_id)


async def lock_watchlist(session: AsyncSession, watchlist_id: uuid.UUID) -> None:
    """Wait until no other transaction changes this watchlist's incidents, until commit."""
    await session.exec(select(func.pg_advisory_xact_lock(watchlist_lock_key(watchlist_id))))


async def lock_story(session: AsyncSession, story_id: uuid.UUID) -> None:
    """Wait until no other transaction opens or joins an incident for this story."""
    await session.exec(select(func.pg_advisory_xact_lock(story_lock_key(story_id))))


Selected = TypeVar("Selected")


def fresh_locked(query: SelectOfScalar[Selected]) -> SelectOfScalar[Selected]:
    """Lock the rows `query` reads, and read them as stored now.

    A row the session already holds would otherwise keep the attributes it had before the
    lock waited out another transaction's change to it.
    """
    return query.with_for_update().execution_options(populate_existing=True)


async def lock_incidents(
    session: AsyncSession, organization_id: uuid.UUID, *incident_ids: uuid.UUID
) -> dict[uuid.UUID, Incident]:
    """Lock the organization's incidents among `incident_ids`, watchlists first, then rows.

    Another organization's incident is simply absent from the answer, like a missing one.
    """
    theirs = and_(
        col(Incident.id).in_(incident_ids), col(Incident.organization_id) == organization_id
    )
    watchlists = await session.exec(select(Incident.watchlist_id).where(theirs).distinct())
    for watchlist_id in sorted(watchlists.all()):
        await lock_watchlist(session, watchlist_id)
    rows = await session.exec(
        fresh_locked(select(Incident).where(theirs).order_by(col(Incident.id)))
    )
    return {incident.id: incident for incident in rows.all()}


class IncidentRow(Protocol):
    """A row that belongs to one incident of one organization."""

    organization_id: uuid.UUID
    incident_id: uuid.UUID


Row = TypeVar("Row", bound=IncidentRow)


class IncidentKeys(TypedDict):
    """The columns that make a new row belong to an incident: its id and its organization."""

    organization_id: uuid.UUID
    incident_id: uuid.UUID


def belonging_to(incident: Incident) -> IncidentKeys:
    """Return the keys of a new row of `incident`, to splat into the row's constructor."""
    return {"organization_id": incident.organization_id, "incident_id": incident.id}


async def rows_of(
    session: AsyncSession,
    table: type[Row],
    incident_id: uuid.UUID,
    *order_by: object,
    organization_id: uuid.UUID | None = None,
) -> list[Row]:
    """Return the incident's rows of `table` sorted by the columns `order_by`.

    With `organization_id`, rows of another organization are left out as well.
    """
    query = select(table).where(col(table.incident_id) == incident_id)
    if organization_id is not None:
        query = query.where(col(table.organization_id) == organization_id)
    result = await session.exec(query.order_by(*(col(column) for column in order_by)))
    return list(result.all())


async def store_event(session: AsyncSession, message: IntegrationEventEmitted) -> None:
    """Insert the event's row unless one with its id exists (a redelivery changes nothing)."""
    await session.exec(
        insert(IntegrationEvent)
        .values(
            id=message.event_id,
            organization_id=message.organization_id,
            type=message.type.value,
            incident_id=message.incident_id,
            payload=message.payload,
            occurred_at=message.occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )


async def latest_reason_data(session: AsyncSession, incident_id: uuid.UUID) -> dict[str, Any]:
    """Return the data of the incident's latest timeline entry that says why it is at its tier.

    Signals (opening, joining, raising, reopening) record `reasons`; a tier changed by hand
    records the person's `reason`. Empty when no entry says.
    """
    data = type_coerce(TimelineEvent.data, JSONB)
    result = await session.exec(
        select(TimelineEvent.data)
        .where(
            col(TimelineEvent.incident_id) == incident_id,
            or_(
                data.has_key("reasons"),
                and_(col(TimelineEvent.kind) == TIER_CHANGED, data.has_key("reason")),
            ),
        )
        .order_by(col(TimelineEvent.occurred_at).desc())
        .limit(1)
    )
    return dict(result.first() or {})


async def tasks_not_done(session: AsyncSession, incident_id: uuid.UUID) -> list[ResponseTask]:
    """Return the incident's tasks not yet done, soonest deadline first, as stored now."""
    # Reloaded even if already in the session: the deadline watchdog marks tasks with an
    # UPDATE that rows loaded earlier would not show.
    result = await session.exec(
        select(ResponseTask)
        .where(
            col(ResponseTask.incident_id) == incident_id,
            col(ResponseTask.status).in_(values(NOT_DONE_TASK_STATUSES)),
        )
        .order_by(col(ResponseTask.due_at), col(ResponseTask.position), col(ResponseTask.kind))
        .execution_options(populate_existing=True)
    )
    return list(result.all())


async def drill_of(session: AsyncSession, watchlist_id: uuid.UUID) -> uuid.UUID | None:
    """Return the id of the drill played on this watchlist; None: no drill."""
    found = await session.exec(select(Drill.id).where(Drill.watchlist_id == watchlist_id))
    return found.first()


async def drill_delivery(session: AsyncSession, watchlist_id: uuid.UUID) -> str | None:
    """Return how the drill played on this watchlist delivers its events; None: no drill."""
    found = await session.exec(select(Drill.delivery).where(Drill.watchlist_id == watchlist_id))
    return found.first()
