"""Signals into incidents: group a risk signal with the incident it belongs to, or open one.

A signal of a competitor or industry watchlist (`WatchlistKind.opens_incidents` false) is
set aside before anything else: it neither opens nor joins an incident, not even one its
story is part of, and is marked `watch_only`. Any other signal, in this order:
1. joins the open incident of its watchlist;
2. else the open incident its watchlist's last incident was merged into;
3. else the open incident of its story (`story_id`), whatever watchlist opened it — one
   story spreading across several watchlists is one crisis;
4. is otherwise set aside if its tier is no crisis (blue), or held back if its watchlist is
   snoozed (see `snooze`: a snooze stops new work, not evidence reaching open incidents;
   a crisis still on when the silence ends is applied then, by `release_held`);
5. reopens its watchlist's incident resolved within `REOPEN_WINDOW` of the signal's
   detection (a flare-up is the same crisis, not a new one);
6. else opens an incident with the playbook for its tier and crisis type, linked to a past
   incident it recurs from (see `recurrence`).

Joining with a higher tier raises the incident and adds the higher playbook's tasks.
Whatever the signal did, it leaves its applied mark (`applied`) in the same transaction:
that, not a timeline entry, says a stored signal was applied.
Messages for integrators (incident.opened, incident.tier_changed, incident.status_changed)
are returned for the caller to publish after commit.

Signals for one watchlist (and one story) are serialized with transaction-level advisory
locks, so two workers handling two signals at once never open two incidents; the partial
unique index `uq_incident_open_per_watchlist` backs that up.
"""

import uuid
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import IncidentStatus, Tier, WatchlistKind
from libs.contracts.events import IncidentOpened
from libs.contracts.messages import Message, RiskSignalRaised
from libs.contracts.outcome import Outcome
from libs.database.tables import Incident
from libs.messaging.sweep import SweepSpec
from services.incidents import events, repository, timeline
from services.incidents.lifecycle import changes
from services.incidents.oncall import service as oncall
from services.incidents.playbook.service import add_missing_tasks, playbook_for
from services.incidents.signals import recurrence, snooze
from services.incidents.signals import repository as signals_repository
from services.incidents.signals.applied import HowApplied, mark

# A resolved incident whose watchlist flares up again within this window is reopened.
REOPEN_WINDOW = timedelta(hours=72)
# How many merges a signal follows to find the incident that absorbed its watchlist's.
MAX_MERGE_HOPS = 5
# What `incident.opened` repeats of the new incident and of the signal that opened it.
_OPENED_FROM_INCIDENT = {
    "title",
    "tier",
    "status",
    "watchlist_id",
    "story_id",
    "crisis_type",
    "detected_at",
}
_OPENED_FROM_SIGNAL = {"signal_id", "score", "reasons"}


async def apply_signal(session: AsyncSession, signal: RiskSignalRaised, *, clock: Clock) -> Outcome:
    """Let `signal` join, raise, reopen or open the incident it belongs to (module docstring).

    The clock stamps the timeline and events, read once the locks are held, so concurrent
    signals stamp the timeline in the order they were applied. Decisions about the signal
    itself (snooze, reopen window) use its `detected_at`, so a retry decides alike.
    """
    await repository.lock_watchlist(session, signal.watchlist_id)
    return await _land(session, signal, clock, may_hold=True)


async def release_held(session: AsyncSession, watchlist_id: uuid.UUID, clock: Clock) -> Outcome:
    """Apply the crisis a snooze held back for a watchlist that is silent no more.

    The held signal is the latest the silence swallowed, already lowered or dropped by
    the falls that followed it (`snooze.follow_fall`), so it opens an incident only if the
    crisis is still on; it is dated at the silence's end, when the team's clock starts.
    """
    await repository.lock_watchlist(session, watchlist_id)
    signal = await snooze.take_held(session, watchlist_id, clock.now())
    if signal is None:
        return Outcome()
    return await _land(session, signal, clock, may_hold=False)


SNOOZE_ENDS = SweepSpec(
    "incidents-snooze-ends", signals_repository.watchlists_out_of_silence_holding, release_held
)
"""The sweep the incidents worker runs every `SNOOZE_CHECK_SECONDS`: one runner per cluster;
each watchlist in its own unit of work, its hold cleared in the transaction that applies it."""


async def _land(
    session: AsyncSession, signal: RiskSignalRaised, clock: Clock, *, may_hold: bool
) -> Outcome:
    """With the watchlist locked, join, raise, reopen or open; while snoozed, hold if `may_hold`."""
    if signal.story_id is not None:
        await repository.lock_story(session, signal.story_id)
    now = clock.now()
    if not await _opens_incidents(session, signal):
        await _mark(session, signal, HowApplied.WATCH_ONLY, None, now)
        return Outcome()
    incident = await _open_incident_for(session, signal)
    if incident is not None:
        return await _join(session, incident, signal, now)
    if not signal.tier.opens_incident:
        await _mark(session, signal, HowApplied.NO_CRISIS, None, now)
        return Outcome()
    if may_hold and await snooze.hold(session, signal):
        await _mark(session, signal, HowApplied.HELD, None, now)
        return Outcome()
    resolved = await signals_repository.resolved_since(
        session,
        signal.organization_id,
        signal.watchlist_id,
        signal.detected_at.astimezone(UTC) - REOPEN_WINDOW,
    )
    if resolved is not None:
        return await _reopen(session, resolved, signal, now)
    return await _open(session, signal, now)


async def _opens_incidents(session: AsyncSession, signal: RiskSignalRaised) -> bool:
    """Return whether the signal's watchlist is of a kind whose crises are the organization's.

    Read when the signal is applied, not when it was raised: a watchlist turned into a
    competitor's stops opening incidents from its next signal on.
    """
    kind = await signals_repository.watchlist_kind(
        session, signal.organization_id, signal.watchlist_id
    )
    return kind is None or WatchlistKind(kind).opens_incidents


async def _mark(
    session: AsyncSession,
    signal: RiskSignalRaised,
    how: HowApplied,
    incident: Incident | None,
    now: datetime,
) -> None:
    await mark(session, signal.organization_id, signal.signal_id, how, incident, at=now)


async def _open_incident_for(session: AsyncSession, signal: RiskSignalRaised) -> Incident | None:
    """Return the open incident the signal joins: its watchlist's, a merge target, its story's.

    Stories span the organization, and a drill's posts may share one with real posts (a
    replay copies them word for word): a drill's signal joins only its own watchlist's
    incident, and a real one never a drill's through a story.
    """
    incident = await watchlist_incident(session, signal.organization_id, signal.watchlist_id)
    if incident is None and signal.story_id is not None:
        if await repository.drill_delivery(session, signal.watchlist_id) is not None:
            return None
        incident = await signals_repository.first_open_incident(
            session, signal.organization_id, story_id=signal.story_id, drill=False
        )
    return incident


async def watchlist_incident(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> Incident | None:
    """Return the watchlist's open incident, or the open one its last was merged into; locked."""
    incident = await signals_repository.first_open_incident(
        session, organization_id, watchlist_id=watchlist_id
    )
    if incident is None:
        incident = await _merge_target(session, organization_id, watchlist_id)
    return incident


async def _merge_target(
    session: AsyncSession, organization_id: uuid.UUID, watchlist_id: uuid.UUID
) -> Incident | None:
    """Return the open incident that absorbed this watchlist's latest incident, if any."""
    latest = await signals_repository.latest_incident_of_watchlist(
        session, organization_id, watchlist_id
    )
    for _ in range(MAX_MERGE_HOPS):
        if latest is None or latest.status != IncidentStatus.MERGED.value:
            return None
        if latest.merged_into_id is None:
            return None
        latest = await signals_repository.incident_for_update(session, latest.merged_into_id)
        if latest is not None and IncidentStatus(latest.status).is_open:
            return latest
    return None


async def _raise(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, now: datetime
) -> Message:
    previous = Tier(incident.tier)
    added = await changes.apply_tier(session, incident, signal.tier, now=now)
    event = timeline.tier_changed(
        session, incident, signal, previous=previous, added_tasks=added, at=now
    )
    return await changes.tier_changed_event(
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
) -> Outcome:
    _adopt(incident, signal)
    messages: list[Message] = []
    how = HowApplied.RAISED if signal.tier.rank > Tier(incident.tier).rank else HowApplied.JOINED
    if how is HowApplied.RAISED:
        messages.append(await _raise(session, incident, signal, now))
    else:
        timeline.signal_joined(session, incident, signal, at=now)
    incident.last_signal_id = signal.signal_id
    incident.updated_at = now
    session.add(incident)
    await _mark(session, signal, how, incident, now)
    return Outcome.emit(*messages)


async def _reopen(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, now: datetime
) -> Outcome:
    _adopt(incident, signal)
    incident.last_signal_id = signal.signal_id
    _, reopened = await changes.record_status_change(
        session,
        incident,
        IncidentStatus.RESPONDING,
        actor=timeline.SYSTEM_ACTOR,
        reason="舆情在解决后再次升温，事件重新打开",
        now=now,
        extra=timeline.signal_data(signal),
    )
    messages: list[Message] = [reopened]
    if signal.tier.rank > Tier(incident.tier).rank:
        messages.append(await _raise(session, incident, signal, now))
    await _mark(session, signal, HowApplied.REOPENED, incident, now)
    return Outcome.emit(*messages)


async def _open(session: AsyncSession, signal: RiskSignalRaised, now: datetime) -> Outcome:
    detected_at = signal.detected_at.astimezone(UTC)
    crisis_type = signal.crisis_type.value if signal.crisis_type else None
    incident = Incident(
        organization_id=signal.organization_id,
        watchlist_id=signal.watchlist_id,
        title=changes.incident_title(signal.watchlist_name, signal.tier),
        tier=signal.tier.value,
        status=IncidentStatus.DETECTED.value,
        detected_at=detected_at,
        last_signal_id=signal.signal_id,
        story_id=signal.story_id,
        crisis_type=crisis_type,
        # A drill's watchlist opens drill incidents: dashboards leave them out, notify marks them.
        drill=await repository.drill_delivery(session, signal.watchlist_id) is not None,
        created_at=now,
        updated_at=now,
    )
    session.add(incident)
    # Flushed first so tasks and events reference a row that exists.
    await session.flush()
    playbook = await playbook_for(session, incident.organization_id, signal.tier, crisis_type)
    await add_missing_tasks(session, incident, playbook, now=now)
    timeline.opened(session, incident, signal, at=now)
    recurred = await recurrence.link(session, incident, now=now)
    await _mark(session, signal, HowApplied.OPENED, incident, now)
    body = IncidentOpened(
        incident_id=incident.id,
        **incident.model_dump(include=_OPENED_FROM_INCIDENT),
        **signal.model_dump(include=_OPENED_FROM_SIGNAL),
        playbook=playbook.name,
        recurrence_of_id=recurred.past.id if recurred else None,
    )
    opened = await events.record(
        session, body, incident.organization_id, incident.id, key=str(incident.id), at=now
    )
    paged = await oncall.take_on_duty_monitor(session, incident, now=now)
    return Outcome.emit(opened, *paged)
