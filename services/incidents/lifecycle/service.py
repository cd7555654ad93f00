"""The lifecycle commands: acknowledge, move an incident (merging it too), change its tier.

See `transitions` for the moves allowed and why, and `changes` for what every move writes.
Anything that changes an incident first takes its watchlist's advisory lock, then the
incident rows ordered by id (`repository.lock_incidents`), the order signal handling uses,
so a command and a signal on one watchlist never deadlock.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TeamRole, Tier
from libs.contracts.messages import (
    AcknowledgeIncident,
    CommandResult,
    EndDrill,
    ErrorCode,
    Message,
    not_found,
)
from libs.contracts.outcome import Outcome
from libs.contracts.response import ChangeIncidentTier, TransitionIncident
from libs.database.tables import Incident
from services.incidents import repository, timeline
from services.incidents.answers import refuse
from services.incidents.lifecycle import changes
from services.incidents.lifecycle import repository as lifecycle_repository
from services.incidents.lifecycle.transitions import (
    ALLOWED,
    forbidden,
    is_reopening,
    needs_reason,
)
from services.incidents.team.duties import role_refusal

S = IncidentStatus


def _blank(text: str | None) -> str | None:
    stripped = text.strip() if text else ""
    return stripped or None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _acknowledged(incident: Incident) -> CommandResult:
    return CommandResult.success(
        id=str(incident.id),
        status=S.ACKNOWLEDGED.value,
        acknowledged_at=_iso(incident.acknowledged_at),
        acknowledged_by=incident.acknowledged_by,
    )


async def acknowledge(
    session: AsyncSession, command: AcknowledgeIncident, *, now: datetime
) -> Outcome:
    """Acknowledge a detected incident and complete its acknowledge task.

    Acknowledging an acknowledged incident answers the same as the first time and changes
    nothing, so a double click or a retried request is harmless.
    """
    locked = await repository.lock_incidents(session, command.organization_id, command.incident_id)
    incident = locked.get(command.incident_id)
    if incident is None:
        return Outcome.answer(not_found("incident", command.incident_id, "id"))
    status = IncidentStatus(incident.status)
    if status is S.ACKNOWLEDGED:
        return Outcome.answer(_acknowledged(incident))
    if status is not S.DETECTED:
        message = f"cannot acknowledge an incident that is {status.value}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "id", current_status=status.value)
    incident.acknowledged_at = now
    incident.acknowledged_by = command.actor
    # The task first, so the event's incident summary no longer lists it as open.
    await changes.complete_acknowledge_task(session, incident, actor=command.actor, now=now)
    _, event = await changes.record_status_change(
        session, incident, S.ACKNOWLEDGED, actor=command.actor, reason=_blank(command.note), now=now
    )
    await session.flush()
    return Outcome.answer(_acknowledged(incident), [event])


def _merge_refusal(incident: Incident, target: Incident | None, into: uuid.UUID) -> Outcome | None:
    current = incident.status
    if into == incident.id:
        message = "an incident cannot be merged into itself"
        return refuse(ErrorCode.INVALID, message, "mergeIntoId", current_status=current)
    if target is None:
        message = f"incident {into} not found"
        return refuse(ErrorCode.NOT_FOUND, message, "mergeIntoId", current_status=current)
    if not IncidentStatus(target.status).is_open:
        message = f"cannot merge into incident {into}: it is {target.status}, not open"
        return refuse(ErrorCode.CONFLICT, message, "mergeIntoId", current_status=current)
    if target.drill != incident.drill:
        # A drill's signals would reach a real incident through the merge, unlabelled, or a
        # real crisis would be hidden inside a drill.
        message = "a drill's incident and a real one cannot be merged into each other"
        return refuse(ErrorCode.INVALID, message, "mergeIntoId", current_status=current)
    return None


async def _reopen_refusal(session: AsyncSession, incident: Incident) -> Outcome | None:
    other = await lifecycle_repository.other_open_incident(session, incident)
    if other is None:
        return None
    message = (
        f"cannot reopen: incident {other} of the same watchlist is open; merge into it instead"
    )
    return refuse(ErrorCode.CONFLICT, message, "toStatus", current_status=incident.status)


def _move_refusal(command: TransitionIncident, current: IncidentStatus) -> Outcome | None:
    """Refuse a move the table forbids, a missing reason, or a merge target out of place."""
    target = command.to_status
    if target not in ALLOWED[current]:
        message = forbidden(current, target)
        return refuse(
            ErrorCode.INVALID_TRANSITION, message, "toStatus", current_status=current.value
        )
    if needs_reason(current, target) and _blank(command.reason) is None:
        message = f"a reason is required to move an incident from {current.value} to {target}"
        return refuse(ErrorCode.INVALID, message, "reason", current_status=current.value)
    if target is S.MERGED and command.merge_into_id is None:
        message = "mergeIntoId is required to merge an incident"
        return refuse(ErrorCode.INVALID, message, "mergeIntoId", current_status=current.value)
    if target is not S.MERGED and command.merge_into_id is not None:
        message = "mergeIntoId is only allowed when the status is merged"
        return refuse(ErrorCode.INVALID, message, "mergeIntoId", current_status=current.value)
    return None


async def transition(
    session: AsyncSession, command: TransitionIncident, *, now: datetime
) -> Outcome:
    """Move an incident to `command.to_status` if the lifecycle allows it from where it is."""
    target = command.to_status
    reason = _blank(command.reason)
    ids = [command.incident_id]
    if command.merge_into_id is not None:
        ids.append(command.merge_into_id)
    locked = await repository.lock_incidents(session, command.organization_id, *ids)
    incident = locked.get(command.incident_id)
    if incident is None:
        return Outcome.answer(not_found("incident", command.incident_id, "incidentId"))
    current = IncidentStatus(incident.status)
    refusal = _move_refusal(command, current)
    if refusal is None and target is S.CLOSED:
        person = command.acting_person_id
        refusal = await role_refusal(
            session, incident.id, TeamRole.COMMANDER, person, "close it", "toStatus"
        )
    if refusal is not None:
        return refusal

    messages: list[Message] = []
    extra: dict[str, Any] = {}
    if command.merge_into_id is not None:
        into_id = command.merge_into_id
        refusal = _merge_refusal(incident, locked.get(into_id), into_id)
        if refusal is not None:
            return refusal
        into = locked[into_id]
        incident.merged_into_id = into.id
        extra["merged_into_id"] = str(into.id)
        messages += await _merge_into(
            session, incident, into, actor=command.actor, reason=reason or "", now=now
        )
    if is_reopening(current, target):
        refusal = await _reopen_refusal(session, incident)
        if refusal is not None:
            return refusal

    if target is S.ACKNOWLEDGED:
        incident.acknowledged_at = now
        incident.acknowledged_by = command.actor
    event, status_message = await changes.record_status_change(
        session, incident, target, actor=command.actor, reason=reason, now=now, extra=extra
    )
    if target is S.ACKNOWLEDGED:
        await changes.complete_acknowledge_task(session, incident, actor=command.actor, now=now)
    await session.flush()
    result = CommandResult.success(
        id=str(incident.id),
        status=incident.status,
        previous_status=current.value,
        reason=reason,
        resolved_at=_iso(incident.resolved_at),
        closed_at=_iso(incident.closed_at),
        merged_into_id=str(incident.merged_into_id) if incident.merged_into_id else None,
        reopened_count=incident.reopened_count,
        timeline_event_id=str(event.id),
        event_id=str(status_message.event_id),
    )
    if incident.drill and target is S.CLOSED:
        messages += await _drill_ended(session, incident, command)
    return Outcome.answer(result, [status_message, *messages])


async def _drill_ended(
    session: AsyncSession, incident: Incident, command: TransitionIncident
) -> list[Message]:
    """Ask analysis to end the drill whose incident closed: its score card is due now.

    Ending a drill twice answers the card it has, so a later `endDrill` changes nothing.
    """
    drill_id = await repository.drill_of(session, incident.watchlist_id)
    if drill_id is None:
        return []
    return [
        EndDrill(
            organization_id=incident.organization_id,
            actor=command.actor,
            acting_person_id=command.acting_person_id,
            drill_id=drill_id,
        )
    ]


async def _merge_into(
    session: AsyncSession,
    source: Incident,
    target: Incident,
    *,
    actor: str,
    reason: str,
    now: datetime,
) -> list[Message]:
    """Note the merge on the target, and let it take the source's tier if that is higher."""
    timeline.merged_in(session, target, source=source, actor=actor, reason=reason, at=now)
    target.updated_at = now
    session.add(target)
    if Tier(source.tier).rank <= Tier(target.tier).rank:
        return []
    why = f"并入事件「{source.title}」的风险等级更高"
    _, emitted, _ = await changes.set_tier(
        session, target, Tier(source.tier), actor=actor, reason=why, now=now
    )
    return [emitted]


async def change_tier(
    session: AsyncSession, command: ChangeIncidentTier, *, now: datetime
) -> Outcome:
    """Raise or lower an open incident's tier by hand, with a reason.

    Raising adds the higher playbook's tasks the incident lacks (deadlines still run from
    `detected_at`, so a late raise can add tasks already due); lowering removes nothing.
    """
    locked = await repository.lock_incidents(session, command.organization_id, command.incident_id)
    incident = locked.get(command.incident_id)
    if incident is None:
        return Outcome.answer(not_found("incident", command.incident_id, "incidentId"))
    status = incident.status
    if not IncidentStatus(status).is_open:
        message = f"cannot change the tier of an incident that is {status}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "incidentId", current_status=status)
    reason = _blank(command.reason)
    if reason is None:
        message = "a reason is required to change the tier"
        return refuse(ErrorCode.INVALID, message, "reason", current_status=status)
    previous = Tier(incident.tier)
    if command.tier is previous:
        message = f"the incident is already {previous.value}"
        return refuse(ErrorCode.INVALID, message, "tier", current_status=status)
    event, emitted, added = await changes.set_tier(
        session, incident, command.tier, actor=command.actor, reason=reason, now=now
    )
    result = CommandResult.success(
        id=str(incident.id),
        tier=incident.tier,
        previous_tier=previous.value,
        title=incident.title,
        added_tasks=added,
        timeline_event_id=str(event.id),
    )
    return Outcome.answer(result, [emitted])
