"""Signals into incidents: group a risk signal with the incident it belongs to, or open one.

A signal, in this order:
1. joins the open incident of its watchlist;
2. else the open incident its watchlist's last incident was merged into;
3. else the open incident of its story (`story_id`), whatever watchlist opened it — one
   story spreading across several watchlists is one crisis;
4. is otherwise dropped if its tier is no crisis (blue) or its watchlist is snoozed
   (see `snooze`: a snooze stops new work, not evidence reaching open incidents);
5. reopens its watchlist's incident resolved within `REOPEN_WINDOW` of the signal's
   detection (a flare-up is the same crisis, not a new one);
6. else opens an incident with the playbook for its tier and crisis type, linked to a past
   incident it recurs from (see `recurrence`).

Joining with a higher tier raises the incident and adds the higher playbook's tasks.
Messages for integrators (incident.opened, incident.tier_changed, incident.status_changed)
are returned for the worker to publish after commit.

Every function takes the job's session and never commits or publishes; the worker harness
commits once per message. Signals for one watchlist (and one story) are serialized with
transaction-level advisory locks, so two workers handling two signals at once never open
two incidents; the partial unique index `uq_incident_open_per_watchlist` backs that up.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, Tier
from libs.contracts.events import IncidentOpened
from libs.contracts.messages import Message, RiskSignalRaised
from libs.database.tables import Incident
from services.incidents import events, recurrence, snooze, timeline
from services.incidents.lifecycle import changes as lifecycle
from services.incidents.lifecycle.changes import incident_title
from services.incidents.playbook.service import add_missing_tasks, playbook_for
from services.incidents.repository import lock_story, lock_watchlist, watchlist_lock_key

__all__ = [
    "REOPEN_WINDOW",
    "SignalAction",
    "SignalOutcome",
    "apply_signal",
    "find_open_incident",
    "incident_title",
    "watchlist_lock_key",
]

# A resolved incident whose watchlist flares up again within this window is reopened.
REOPEN_WINDOW = timedelta(hours=72)
# How many merges a signal follows to find the incident that absorbed its watchlist's.
MAX_MERGE_HOPS = 5

_CLOSED_STATUSES = tuple(status.value for status in IncidentStatus if not status.is_open)


class SignalAction(StrEnum):
    """What a signal did."""

    OPENED = "opened"
    JOINED = "joined"
    RAISED = "raised"
    REOPENED = "reopened"
    SNOOZED = "snoozed"
    IGNORED = "ignored"


@dataclass(frozen=True)
class SignalOutcome:
    """The incident a signal landed in (if any), what it did, and the events to publish."""

    action: SignalAction
    incident: Incident | None = None
    messages: list[Message] = field(default_factory=list)


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


async def _merge_target(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> Incident | None:
    """Return the open incident that absorbed this watchlist's latest incident, if any."""
    result = await session.exec(
        select(Incident)
        .where(
            Incident.organization_id == organization_id,
            Incident.watchlist_id == watchlist_id,
        )
        .order_by(col(Incident.detected_at).desc(), col(Incident.id))
        .limit(1)
    )
    latest = result.first()
    for _ in range(MAX_MERGE_HOPS):
        if latest is None or latest.status != IncidentStatus.MERGED.value:
            return None
        if latest.merged_into_id is None:
            return None
        target = await session.exec(
            select(Incident).where(Incident.id == latest.merged_into_id).with_for_update()
        )
        latest = target.first()
        if latest is not None and IncidentStatus(latest.status).is_open:
            return latest
    return None


async def _story_incident(
    session: AsyncSession, organization_id: uuid.UUID, story_id: uuid.UUID
) -> Incident | None:
    result = await session.exec(
        select(Incident)
        .where(
            Incident.organization_id == organization_id,
            Incident.story_id == story_id,
            col(Incident.status).not_in(_CLOSED_STATUSES),
        )
        .order_by(col(Incident.detected_at), col(Incident.id))
        .limit(1)
        .with_for_update()
    )
    return result.first()


async def _recently_resolved(session: AsyncSession, signal: RiskSignalRaised) -> Incident | None:
    """Return the watchlist's incident resolved within the window of the signal, if any."""
    detected_at = signal.detected_at.astimezone(UTC)
    result = await session.exec(
        select(Incident)
        .where(
            Incident.organization_id == signal.organization_id,
            Incident.watchlist_id == signal.watchlist_id,
            Incident.status == IncidentStatus.RESOLVED.value,
            col(Incident.resolved_at) >= detected_at - REOPEN_WINDOW,
        )
        .order_by(col(Incident.resolved_at).desc(), col(Incident.id))
        .limit(1)
        .with_for_update()
    )
    return result.first()


async def apply_signal(
    session: AsyncSession, signal: RiskSignalRaised, *, now: datetime | None = None
) -> SignalOutcome:
    """Let `signal` join, raise, reopen or open the incident it belongs to (module docstring).

    `now` stamps the timeline and events; left out, the clock is read after the locks are
    taken (see below), which is what the worker does. Decisions about the
    signal itself (snooze, reopen window) use its `detected_at`, so a retry decides alike.
    """
    await lock_watchlist(session, signal.watchlist_id)
    if signal.story_id is not None:
        await lock_story(session, signal.story_id)
    # The clock is read once the locks are held, so concurrent signals stamp the timeline in
    # the order they were applied.
    now = now or datetime.now(UTC)
    incident = await find_open_incident(session, signal.organization_id, signal.watchlist_id)
    if incident is None:
        incident = await _merge_target(session, signal.organization_id, signal.watchlist_id)
    if incident is None and signal.story_id is not None:
        incident = await _story_incident(session, signal.organization_id, signal.story_id)
    if incident is not None:
        return await _join(session, incident, signal, now)
    if not signal.tier.opens_incident:
        return SignalOutcome(SignalAction.IGNORED)
    if await snooze.silenced_until(session, signal.watchlist_id, signal.detected_at):
        return SignalOutcome(SignalAction.SNOOZED)
    resolved = await _recently_resolved(session, signal)
    if resolved is not None:
        return await _reopen(session, resolved, signal, now)
    return await _open(session, signal, now)


async def _raise(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, now: datetime
) -> Message:
    previous = Tier(incident.tier)
    added = await lifecycle.apply_tier(session, incident, signal.tier, now=now)
    event = timeline.tier_changed(
        session,
        incident,
        previous=previous,
        signal_id=signal.signal_id,
        score=signal.score,
        reasons=signal.reasons,
        at=now,
        added_tasks=added,
    )
    return await lifecycle.tier_changed_event(
        session,
        incident,
        event,
        previous=previous,
        actor=timeline.SYSTEM_ACTOR,
        reasons=signal.reasons,
        added_tasks=added,
        now=now,
    )


def _adopt(incident: Incident, signal: RiskSignalRaised) -> None:
    """Let an incident learn its story and crisis type from a later signal."""
    if incident.story_id is None and signal.story_id is not None:
        incident.story_id = signal.story_id
    if incident.crisis_type is None and signal.crisis_type is not None:
        incident.crisis_type = signal.crisis_type.value


async def _join(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, now: datetime
) -> SignalOutcome:
    _adopt(incident, signal)
    messages: list[Message] = []
    if signal.tier.rank > Tier(incident.tier).rank:
        messages.append(await _raise(session, incident, signal, now))
        action = SignalAction.RAISED
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
        action = SignalAction.JOINED
    incident.last_signal_id = signal.signal_id
    incident.updated_at = now
    session.add(incident)
    await session.flush()
    return SignalOutcome(action, incident, messages)


async def _reopen(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, now: datetime
) -> SignalOutcome:
    _adopt(incident, signal)
    incident.last_signal_id = signal.signal_id
    reason = "舆情在解决后再次升温，事件重新打开"
    _, reopened = await lifecycle.record_status_change(
        session,
        incident,
        IncidentStatus.RESPONDING,
        actor=timeline.SYSTEM_ACTOR,
        reason=reason,
        now=now,
        extra={
            "signal_id": str(signal.signal_id),
            "tier": signal.tier.value,
            "score": signal.score,
            "reasons": list(signal.reasons),
        },
    )
    messages: list[Message] = [reopened]
    if signal.tier.rank > Tier(incident.tier).rank:
        messages.append(await _raise(session, incident, signal, now))
    await session.flush()
    return SignalOutcome(SignalAction.REOPENED, incident, messages)


async def _open(session: AsyncSession, signal: RiskSignalRaised, now: datetime) -> SignalOutcome:
    detected_at = signal.detected_at.astimezone(UTC)
    crisis_type = signal.crisis_type.value if signal.crisis_type else None
    incident = Incident(
        organization_id=signal.organization_id,
        watchlist_id=signal.watchlist_id,
        title=incident_title(signal.watchlist_name, signal.tier),
        tier=signal.tier.value,
        status=IncidentStatus.DETECTED.value,
        detected_at=detected_at,
        last_signal_id=signal.signal_id,
        story_id=signal.story_id,
        crisis_type=crisis_type,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    # Flushed first so tasks and events reference a row that exists.
    await session.flush()
    playbook = await playbook_for(session, incident.organization_id, signal.tier, crisis_type)
    await add_missing_tasks(session, incident, playbook, now=now)
    timeline.opened(
        session,
        incident,
        signal_id=signal.signal_id,
        tier=signal.tier,
        score=signal.score,
        reasons=signal.reasons,
        at=now,
    )
    recurred = await recurrence.link(session, incident, now=now)
    await session.flush()
    body = IncidentOpened(
        incident_id=incident.id,
        title=incident.title,
        tier=incident.tier,
        status=incident.status,
        watchlist_id=incident.watchlist_id,
        story_id=incident.story_id,
        crisis_type=incident.crisis_type,
        detected_at=detected_at,
        signal_id=signal.signal_id,
        score=signal.score,
        reasons=list(signal.reasons),
        playbook=playbook.name,
        recurrence_of_id=recurred.past.id if recurred else None,
    )
    opened = await events.record(
        session, body, incident.organization_id, incident.id, key=str(incident.id), at=now
    )
    return SignalOutcome(SignalAction.OPENED, incident, [opened])
