"""Incident lifecycle: open or raise an incident from a risk signal, and acknowledge it.

Every function takes the job's session and never commits or publishes; the worker harness
commits once per message. Signals for one watchlist are serialized with a transaction-level
advisory lock, so two workers handling two signals at once never open two incidents; the
partial unique index `uq_incident_open_per_watchlist` backs that up in the schema.
"""

import hashlib
import uuid
from datetime import UTC, datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TaskStatus, Tier
from libs.contracts.messages import AcknowledgeIncident, CommandResult, RiskSignalRaised
from libs.database.tables import Incident, ResponseTask
from services.incidents import timeline
from services.incidents.playbook import ACKNOWLEDGE, DEFAULT_PLAYBOOK

_CLOSED_STATUSES = tuple(status.value for status in IncidentStatus if not status.is_open)


def incident_title(watchlist_name: str, tier: Tier) -> str:
    """Return the title a new incident gets, e.g. 「奶粉」轻度舆情危机."""
    return f"「{watchlist_name}」{timeline.TIER_LABELS[tier]}舆情危机"


def watchlist_lock_key(watchlist_id: uuid.UUID) -> int:
    """Return the signed 64-bit advisory lock key that serializes one watchlist's signals."""
    digest = hashlib.blake2b(b"incident-watchlist:" + watchlist_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_watchlist(session: AsyncSession, watchlist_id: uuid.UUID) -> None:
    """Wait until no other transaction handles a signal of this watchlist, until commit."""
    await session.exec(select(func.pg_advisory_xact_lock(watchlist_lock_key(watchlist_id))))


async def find_open_incident(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> Incident | None:
    """Return the watchlist's open incident, locked for update, if there is one."""
    result = await session.exec(
        select(Incident)
        .where(
            Incident.organization_id == organization_id,
            Incident.watchlist_id == watchlist_id,
            col(Incident.status).not_in(_CLOSED_STATUSES),
        )
        .with_for_update()
    )
    return result.first()


async def apply_signal(session: AsyncSession, signal: RiskSignalRaised) -> Incident | None:
    """Let `signal` join its watchlist's open incident, or open one if its tier is a crisis."""
    await lock_watchlist(session, signal.watchlist_id)
    now = datetime.now(UTC)
    incident = await find_open_incident(session, signal.organization_id, signal.watchlist_id)
    if incident is not None:
        _join(session, incident, signal, now)
        await session.flush()
        return incident
    if not signal.tier.opens_incident:
        return None
    return await _open(session, signal, now)


def _join(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, now: datetime
) -> None:
    previous = Tier(incident.tier)
    if signal.tier.rank > previous.rank:
        if incident.title == incident_title(signal.watchlist_name, previous):
            # Only a title still as generated follows the tier; an edited one is kept.
            incident.title = incident_title(signal.watchlist_name, signal.tier)
        incident.tier = signal.tier.value
        timeline.tier_changed(
            session,
            incident,
            previous=previous,
            signal_id=signal.signal_id,
            score=signal.score,
            reasons=signal.reasons,
            at=now,
        )
    else:
        timeline.signal_joined(
            session,
            incident,
            signal_id=signal.signal_id,
            tier=signal.tier,
            score=signal.score,
            reasons=signal.reasons,
            at=now,
        )
    incident.last_signal_id = signal.signal_id
    incident.updated_at = now
    session.add(incident)


async def _open(session: AsyncSession, signal: RiskSignalRaised, now: datetime) -> Incident:
    detected_at = signal.detected_at.astimezone(UTC)
    incident = Incident(
        organization_id=signal.organization_id,
        watchlist_id=signal.watchlist_id,
        title=incident_title(signal.watchlist_name, signal.tier),
        tier=signal.tier.value,
        status=IncidentStatus.DETECTED.value,
        detected_at=detected_at,
        last_signal_id=signal.signal_id,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    # Flushed first so tasks and events reference a row that exists.
    await session.flush()
    for planned in DEFAULT_PLAYBOOK.plan(detected_at):
        session.add(
            ResponseTask(
                organization_id=incident.organization_id,
                incident_id=incident.id,
                kind=planned.kind,
                title=planned.title,
                position=planned.position,
                due_at=planned.due_at,
                status=TaskStatus.OPEN.value,
                created_at=now,
            )
        )
    timeline.opened(
        session,
        incident,
        signal_id=signal.signal_id,
        tier=signal.tier,
        score=signal.score,
        reasons=signal.reasons,
        at=now,
    )
    await session.flush()
    return incident


async def acknowledge(session: AsyncSession, command: AcknowledgeIncident) -> CommandResult:
    """Acknowledge a detected incident and complete its acknowledge task."""
    result = await session.exec(
        select(Incident)
        .where(
            Incident.id == command.incident_id,
            Incident.organization_id == command.organization_id,
        )
        .with_for_update()
    )
    incident = result.first()
    if incident is None:
        return CommandResult.failure(
            "NotFound", f"incident {command.incident_id} not found", field="id"
        )
    status = IncidentStatus(incident.status)
    if status is IncidentStatus.ACKNOWLEDGED:
        return _acknowledged(incident)
    if status is not IncidentStatus.DETECTED:
        return CommandResult.failure(
            "InvalidTransition",
            f"cannot acknowledge an incident that is {status.value}",
            field="id",
        )
    now = datetime.now(UTC)
    incident.status = IncidentStatus.ACKNOWLEDGED.value
    incident.acknowledged_at = now
    incident.acknowledged_by = command.actor
    incident.updated_at = now
    session.add(incident)
    timeline.status_changed(
        session, incident, previous=status, actor=command.actor, note=command.note, at=now
    )
    task = await _unfinished_task(session, incident.id, ACKNOWLEDGE)
    if task is not None:
        task.status = TaskStatus.DONE.value
        task.completed_at = now
        session.add(task)
        timeline.task_done(
            session, incident, kind=task.kind, title=task.title, actor=command.actor, at=now
        )
    await session.flush()
    return _acknowledged(incident)


async def _unfinished_task(
    session: AsyncSession, incident_id: uuid.UUID, kind: str
) -> ResponseTask | None:
    result = await session.exec(
        select(ResponseTask)
        .where(
            ResponseTask.incident_id == incident_id,
            ResponseTask.kind == kind,
            ResponseTask.status != TaskStatus.DONE.value,
        )
        .with_for_update()
    )
    return result.first()


def _acknowledged(incident: Incident) -> CommandResult:
    acknowledged_at = incident.acknowledged_at
    return CommandResult.success(
        id=str(incident.id),
        status=IncidentStatus.ACKNOWLEDGED.value,
        acknowledged_at=acknowledged_at.isoformat() if acknowledged_at else None,
        acknowledged_by=incident.acknowledged_by,
    )
