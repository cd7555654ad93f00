"""The changes a status or tier move makes, whoever moves it: a person's command or a signal.

Every status change writes a timeline event (actor, reason) and an `incident.status_changed`
integration event keyed by that timeline event's id, so the event id is stable; every tier
change likewise an `incident.tier_changed` event. Raising the tier adds the higher
playbook's missing tasks; lowering it removes nothing.
"""

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TaskStatus, Tier
from libs.contracts.events import IncidentStatusChanged, IncidentTierChanged
from libs.contracts.response import IntegrationEventEmitted
from libs.contracts.vocabulary import TIER_SEVERITY
from libs.database.tables import Incident, TimelineEvent, Watchlist
from services.incidents import events, timeline
from services.incidents.lifecycle import repository
from services.incidents.lifecycle.transitions import is_reopening
from services.incidents.playbook.defaults import ACKNOWLEDGE
from services.incidents.playbook.service import add_missing_tasks, playbook_for

S = IncidentStatus


def incident_title(watchlist_name: str, tier: Tier) -> str:
    """Return the title a new incident gets, e.g. 「奶粉」轻度舆情危机."""
    return f"「{watchlist_name}」{TIER_SEVERITY[tier]}舆情危机"


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

    The caller has checked that the move is allowed. `extra` adds context to both events,
    such as the incident merged into or the signal that reopened it.
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
    details = dict(extra or {})
    if is_reopening(previous, target):
        incident.reopened_count += 1
        incident.resolved_at = None
        details["reopened_count"] = incident.reopened_count
    session.add(incident)
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


async def set_tier(
    session: AsyncSession, incident: Incident, tier: Tier, *, actor: str, reason: str, now: datetime
) -> tuple[TimelineEvent, IntegrationEventEmitted, list[str]]:
    """Change `incident`'s tier for a person's `reason`; return the events and tasks added."""
    previous = Tier(incident.tier)
    added = await apply_tier(session, incident, tier, now=now)
    event = timeline.tier_set(
        session, incident, previous=previous, actor=actor, reason=reason, added_tasks=added, at=now
    )
    emitted = await tier_changed_event(
        session,
        incident,
        event,
        previous=previous,
        actor=actor,
        reasons=[reason],
        added_tasks=added,
        now=now,
    )
    return event, emitted, added


async def complete_acknowledge_task(
    session: AsyncSession, incident: Incident, *, actor: str, now: datetime
) -> None:
    """Mark the incident's acknowledge task done by `actor`, if it is still open."""
    task = await repository.open_task_of_kind(session, incident.id, ACKNOWLEDGE)
    if task is None:
        return
    task.status = TaskStatus.DONE.value
    task.completed_at = now
    task.completed_by = actor
    session.add(task)
    timeline.task_done(session, incident, kind=task.kind, title=task.title, actor=actor, at=now)
