"""Where an incident is in its life, and the only moves between states a response team makes.

Allowed transitions (anything else is refused, naming the current state):

    detected      → acknowledged, merged*, false_alarm*
    acknowledged  → assessing, responding, merged*, false_alarm*
    assessing     → responding, merged*, false_alarm*
    responding    → recovering, merged*, false_alarm*
    recovering    → resolved, responding* (relapse), merged*, false_alarm*
    resolved      → closed, responding* (reopen)
    closed, merged, false_alarm: final

(* a reason is required.)

Why this table:
- Nothing happens before someone owns the incident: the only way out of `detected`,
  besides dismissing it, is acknowledging it (monitoring started, 30-minute deadline).
- `acknowledged → responding` skips the assessment on purpose: in urgent cases the
  statement goes out first and the details after (先发声明后补充说明, seed 002).
- An incident is resolved only after a recovery watch (`recovering`): the team keeps
  watching volume and sentiment decay before calling it over, because a crisis that is
  answered too early often flares up again.
- `closed` follows `resolved` once the review is done; it is final, as are `merged` and
  `false_alarm`. A flare-up after closing opens a new incident linked to this one as a
  recurrence instead.
- Going back (relapse from `recovering`, reopening from `resolved`), merging and dismissing
  as a false alarm all need a reason, since they change what the team and integrators
  believe happened. A merge names an open incident of the same organization; the merged
  incident's tier, if higher, raises the target's.

Every change writes a timeline event (actor, reason) and an `incident.status_changed`
integration event keyed by that timeline event's id, so the event id is stable.

Locking: anything that changes an incident first takes its watchlist's advisory lock, then
the incident rows (ordered by id), the same order signal handling uses, so a command and a
signal on one watchlist never deadlock.
"""

import hashlib
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TaskStatus, Tier
from libs.contracts.events import IncidentStatusChanged, IncidentTierChanged
from libs.contracts.messages import (
    AcknowledgeIncident,
    CommandError,
    CommandResult,
    Message,
)
from libs.contracts.response import (
    ChangeIncidentTier,
    IntegrationEventEmitted,
    TransitionIncident,
)
from libs.contracts.vocabulary import TIER_SEVERITY
from libs.database.tables import Incident, ResponseTask, TimelineEvent, Watchlist
from services.incidents import events, timeline
from services.incidents.playbook.defaults import ACKNOWLEDGE
from services.incidents.playbook.service import add_missing_tasks, playbook_for

S = IncidentStatus

ALLOWED: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    S.DETECTED: frozenset({S.ACKNOWLEDGED, S.MERGED, S.FALSE_ALARM}),
    S.ACKNOWLEDGED: frozenset({S.ASSESSING, S.RESPONDING, S.MERGED, S.FALSE_ALARM}),
    S.ASSESSING: frozenset({S.RESPONDING, S.MERGED, S.FALSE_ALARM}),
    S.RESPONDING: frozenset({S.RECOVERING, S.MERGED, S.FALSE_ALARM}),
    S.RECOVERING: frozenset({S.RESOLVED, S.RESPONDING, S.MERGED, S.FALSE_ALARM}),
    S.RESOLVED: frozenset({S.CLOSED, S.RESPONDING}),
    S.CLOSED: frozenset(),
    S.MERGED: frozenset(),
    S.FALSE_ALARM: frozenset(),
}

_ORDER = list(IncidentStatus)
_CLOSED_STATUSES = tuple(status.value for status in IncidentStatus if not status.is_open)

Outcome = tuple[CommandResult, list[Message]]


def allowed_targets(current: IncidentStatus) -> list[IncidentStatus]:
    """Return where an incident in `current` may move, in lifecycle order."""
    return sorted(ALLOWED[current], key=_ORDER.index)


def needs_reason(current: IncidentStatus, target: IncidentStatus) -> bool:
    """Return whether moving from `current` to `target` must say why."""
    if target in (S.MERGED, S.FALSE_ALARM):
        return True
    return target is S.RESPONDING and current in (S.RECOVERING, S.RESOLVED)


def incident_title(watchlist_name: str, tier: Tier) -> str:
    """Return the title a new incident gets, e.g. 「奶粉」轻度舆情危机."""
    return f"「{watchlist_name}」{TIER_SEVERITY[tier]}舆情危机"


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


async def lock_incidents(
    session: AsyncSession, organization_id: uuid.UUID, *incident_ids: uuid.UUID
) -> dict[uuid.UUID, Incident]:
    """Lock the organization's incidents among `incident_ids`, watchlists first, then rows.

    Another organization's incident is simply absent from the answer, like a missing one.
    """
    result = await session.exec(
        select(Incident.watchlist_id)
        .where(
            col(Incident.id).in_(incident_ids),
            Incident.organization_id == organization_id,
        )
        .distinct()
    )
    for watchlist_id in sorted(result.all()):
        await lock_watchlist(session, watchlist_id)
    rows = await session.exec(
        select(Incident)
        .where(
            col(Incident.id).in_(incident_ids),
            Incident.organization_id == organization_id,
        )
        .order_by(col(Incident.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {incident.id: incident for incident in rows.all()}


def _blank(text: str | None) -> str | None:
    stripped = text.strip() if text else ""
    return stripped or None


def _failure(
    code: str, message: str, field: str, current: IncidentStatus | None = None
) -> CommandResult:
    data = {"current_status": current.value} if current is not None else {}
    return CommandResult(
        ok=False, data=data, error=CommandError(code=code, message=message, field=field)
    )


def _forbidden(current: IncidentStatus, target: IncidentStatus) -> CommandResult:
    allowed = allowed_targets(current)
    if allowed:
        options = f"from {current.value} it can move to {', '.join(s.value for s in allowed)}"
    else:
        options = f"{current.value} is final"
    return _failure(
        "InvalidTransition",
        f"cannot move an incident that is {current.value} to {target.value}: {options}",
        "toStatus",
        current,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


async def record_status_change(
    session: AsyncSession,
    incident: Incident,
    target: IncidentStatus,
    *,
    actor: str,
    reason: str | None,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> tuple[TimelineEvent, IntegrationEventEmitted]:
    """Move `incident` to `target` with its timestamps, timeline event and integration event.

    The caller has checked that the move is allowed.
    """
    previous = IncidentStatus(incident.status)
    incident.status = target.value
    incident.updated_at = now
    if reason is not None:
        incident.status_reason = reason
    if target is S.RESOLVED:
        incident.resolved_at = now
    if target is S.CLOSED:
        incident.closed_at = now
    if previous is S.RESOLVED and target is S.RESPONDING:
        incident.reopened_count += 1
        incident.resolved_at = None
    session.add(incident)
    details = dict(extra or {})
    if previous is S.RESOLVED and target is S.RESPONDING:
        details["reopened_count"] = incident.reopened_count
    event = timeline.status_changed(
        session, incident, previous=previous, actor=actor, note=reason, at=now, extra=details
    )
    await session.flush()
    body = IncidentStatusChanged(
        incident_id=incident.id,
        from_=previous.value,
        to=target.value,
        actor=actor,
        reason=reason,
        timeline_event_id=event.id,
        **details,
    )
    message = await events.record(
        session, body, incident.organization_id, incident.id, key=str(event.id), at=now
    )
    return event, message


async def apply_tier(
    session: AsyncSession, incident: Incident, tier: Tier, *, now: datetime
) -> list[str]:
    """Set `incident`'s tier; when it rises, add the higher playbook's missing tasks.

    A title still as generated follows the tier; one a person edited is kept. Returns the
    kinds of the tasks added (none when the tier is lowered: done work is never removed).
    """
    previous = Tier(incident.tier)
    watchlist = await session.get(Watchlist, incident.watchlist_id)
    if watchlist is not None and incident.title == incident_title(watchlist.name, previous):
        incident.title = incident_title(watchlist.name, tier)
    incident.tier = tier.value
    incident.updated_at = now
    session.add(incident)
    if tier.rank <= previous.rank:
        return []
    playbook = await playbook_for(session, incident.organization_id, tier, incident.crisis_type)
    added = await add_missing_tasks(session, incident, playbook, now=now)
    return [task.kind for task in added]


async def tier_changed_event(
    session: AsyncSession,
    incident: Incident,
    event: TimelineEvent,
    *,
    previous: Tier,
    actor: str,
    reasons: list[str],
    added_tasks: list[str],
    now: datetime,
) -> IntegrationEventEmitted:
    """Record the `incident.tier_changed` event for the timeline event `event`."""
    await session.flush()
    body = IncidentTierChanged(
        incident_id=incident.id,
        from_=previous.value,
        to=incident.tier,
        actor=actor,
        reasons=list(reasons),
        added_tasks=list(added_tasks),
        timeline_event_id=event.id,
    )
    return await events.record(
        session, body, incident.organization_id, incident.id, key=str(event.id), at=now
    )


async def _complete_acknowledge_task(
    session: AsyncSession, incident: Incident, *, actor: str, now: datetime
) -> None:
    result = await session.exec(
        select(ResponseTask)
        .where(
            ResponseTask.incident_id == incident.id,
            ResponseTask.kind == ACKNOWLEDGE,
            ResponseTask.status != TaskStatus.DONE.value,
        )
        .with_for_update()
    )
    task = result.first()
    if task is None:
        return
    task.status = TaskStatus.DONE.value
    task.completed_at = now
    task.completed_by = actor
    session.add(task)
    timeline.task_done(session, incident, kind=task.kind, title=task.title, actor=actor, at=now)


async def _acknowledge(
    session: AsyncSession, incident: Incident, *, actor: str, note: str | None, now: datetime
) -> Message:
    incident.acknowledged_at = now
    incident.acknowledged_by = actor
    # The task first, so the event's incident summary no longer lists it as open.
    await _complete_acknowledge_task(session, incident, actor=actor, now=now)
    _, message = await record_status_change(
        session, incident, S.ACKNOWLEDGED, actor=actor, reason=note, now=now
    )
    await session.flush()
    return message


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
    locked = await lock_incidents(session, command.organization_id, command.incident_id)
    incident = locked.get(command.incident_id)
    if incident is None:
        return _failure("NotFound", f"incident {command.incident_id} not found", "id"), []
    status = IncidentStatus(incident.status)
    if status is S.ACKNOWLEDGED:
        return _acknowledged(incident), []
    if status is not S.DETECTED:
        message = f"cannot acknowledge an incident that is {status.value}"
        return _failure("InvalidTransition", message, "id", status), []
    event = await _acknowledge(
        session, incident, actor=command.actor, note=_blank(command.note), now=now
    )
    return _acknowledged(incident), [event]


def _check_merge(
    incident: Incident, target: Incident | None, into: uuid.UUID
) -> CommandResult | None:
    current = IncidentStatus(incident.status)
    if into == incident.id:
        message = "an incident cannot be merged into itself"
        return _failure("Invalid", message, "mergeIntoId", current)
    if target is None:
        return _failure("NotFound", f"incident {into} not found", "mergeIntoId", current)
    target_status = IncidentStatus(target.status)
    if not target_status.is_open:
        return _failure(
            "Conflict",
            f"cannot merge into incident {into}: it is {target_status.value}, not open",
            "mergeIntoId",
            current,
        )
    return None


async def _check_reopen(session: AsyncSession, incident: Incident) -> CommandResult | None:
    result = await session.exec(
        select(Incident.id).where(
            Incident.watchlist_id == incident.watchlist_id,
            Incident.id != incident.id,
            col(Incident.status).not_in(_CLOSED_STATUSES),
        )
    )
    other = result.first()
    if other is None:
        return None
    return _failure(
        "Conflict",
        f"cannot reopen: incident {other} of the same watchlist is open; merge into it instead",
        "toStatus",
        IncidentStatus(incident.status),
    )


async def transition(
    session: AsyncSession, command: TransitionIncident, *, now: datetime
) -> Outcome:
    """Move an incident to `command.to_status` if the lifecycle allows it from where it is."""
    target = command.to_status
    reason = _blank(command.reason)
    ids = [command.incident_id]
    if command.merge_into_id is not None:
        ids.append(command.merge_into_id)
    locked = await lock_incidents(session, command.organization_id, *ids)
    incident = locked.get(command.incident_id)
    if incident is None:
        return _failure("NotFound", f"incident {command.incident_id} not found", "incidentId"), []
    current = IncidentStatus(incident.status)
    if target not in ALLOWED[current]:
        return _forbidden(current, target), []
    if needs_reason(current, target) and reason is None:
        message = f"a reason is required to move an incident from {current.value} to {target}"
        return _failure("Invalid", message, "reason", current), []
    if target is not S.MERGED and command.merge_into_id is not None:
        message = "mergeIntoId is only allowed when the status is merged"
        return _failure("Invalid", message, "mergeIntoId", current), []

    messages: list[Message] = []
    extra: dict[str, Any] = {}
    if target is S.MERGED:
        into_id = command.merge_into_id
        if into_id is None:
            message = "mergeIntoId is required to merge an incident"
            return _failure("Invalid", message, "mergeIntoId", current), []
        refusal = _check_merge(incident, locked.get(into_id), into_id)
        if refusal is not None:
            return refusal, []
        into = locked[into_id]
        incident.merged_into_id = into.id
        extra["merged_into_id"] = str(into.id)
        messages += await _merge_into(
            session, incident, into, actor=command.actor, reason=reason or "", now=now
        )
    if current is S.RESOLVED and target is S.RESPONDING:
        refusal = await _check_reopen(session, incident)
        if refusal is not None:
            return refusal, []

    if target is S.ACKNOWLEDGED:
        incident.acknowledged_at = now
        incident.acknowledged_by = command.actor
    event, status_message = await record_status_change(
        session, incident, target, actor=command.actor, reason=reason, now=now, extra=extra
    )
    if target is S.ACKNOWLEDGED:
        await _complete_acknowledge_task(session, incident, actor=command.actor, now=now)
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
    return result, [status_message, *messages]


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
    source_tier, target_tier = Tier(source.tier), Tier(target.tier)
    if source_tier.rank <= target_tier.rank:
        return []
    added = await apply_tier(session, target, source_tier, now=now)
    why = f"并入事件「{source.title}」的风险等级更高"
    event = timeline.tier_set(
        session,
        target,
        previous=target_tier,
        actor=actor,
        reason=why,
        added_tasks=added,
        at=now,
    )
    return [
        await tier_changed_event(
            session,
            target,
            event,
            previous=target_tier,
            actor=actor,
            reasons=[why],
            added_tasks=added,
            now=now,
        )
    ]


async def change_tier(
    session: AsyncSession, command: ChangeIncidentTier, *, now: datetime
) -> Outcome:
    """Raise or lower an open incident's tier by hand, with a reason.

    Raising adds the higher playbook's tasks the incident lacks (deadlines still run from
    `detected_at`, so a late raise can add tasks already due); lowering removes nothing.
    """
    locked = await lock_incidents(session, command.organization_id, command.incident_id)
    incident = locked.get(command.incident_id)
    if incident is None:
        return _failure("NotFound", f"incident {command.incident_id} not found", "incidentId"), []
    status = IncidentStatus(incident.status)
    if not status.is_open:
        message = f"cannot change the tier of an incident that is {status.value}"
        return _failure("InvalidTransition", message, "incidentId", status), []
    reason = _blank(command.reason)
    if reason is None:
        return _failure("Invalid", "a reason is required to change the tier", "reason", status), []
    previous = Tier(incident.tier)
    if command.tier is previous:
        message = f"the incident is already {previous.value}"
        return _failure("Invalid", message, "tier", status), []
    added = await apply_tier(session, incident, command.tier, now=now)
    event = timeline.tier_set(
        session,
        incident,
        previous=previous,
        actor=command.actor,
        reason=reason,
        added_tasks=added,
        at=now,
    )
    emitted = await tier_changed_event(
        session,
        incident,
        event,
        previous=previous,
        actor=command.actor,
        reasons=[reason],
        added_tasks=added,
        now=now,
    )
    result = CommandResult.success(
        id=str(incident.id),
        tier=incident.tier,
        previous_tier=previous.value,
        title=incident.title,
        added_tasks=added,
        timeline_event_id=str(event.id),
    )
    return result, [emitted]
