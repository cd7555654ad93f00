"""A watchlist's risk fell: the timeline hears of it and the incident's tier follows, within limits.

Analysis tells incidents of every fall (`risk.tier_fell.v1`), from a mention batch or from
the re-scoring pass that runs when nobody posts. A fall:
1. lowers or drops a crisis a snooze is holding back (`snooze.follow_fall`);
2. is recorded once (the harness's receipt) on the timeline of the incident the
   watchlist's signals land in: its own open incident, or the one it was merged into;
3. lowers the tier of the watchlist's own incident to the watchlist's tier, but never
   below yellow — an open incident stays a crisis until a person resolves it — and never
   below the tier a person last set by hand or by a merge; when that tier holds, the
   timeline says so. An incident another watchlist opened (a merge target) keeps its
   tier: one watchlist quieting says nothing of the others feeding it;
4. suggests `recovering` when the watchlist holds no crisis tier any more (blue or none)
   and the incident may move there; the status itself changes only by a person's command,
   because calling a crisis over is a judgement, not a threshold.
A lowered tier is an `incident.tier_changed` event like any other; lowering adds no tasks
and removes none. Every fall leaves its applied mark (`applied`), with or without an
incident to record it on: a fall of a crisis tier (red to orange) is a stored signal too.
"""

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import IncidentStatus, Tier
from libs.contracts.messages import Message, RiskTierFell
from libs.contracts.outcome import Outcome
from libs.database.tables import Incident
from services.incidents import repository, timeline
from services.incidents.lifecycle import changes
from services.incidents.lifecycle.transitions import ALLOWED
from services.incidents.signals import repository as signals_repository
from services.incidents.signals import snooze
from services.incidents.signals.applied import HowApplied, mark
from services.incidents.signals.service import watchlist_incident

# The lowest tier an open incident is lowered to by a fall: the lightest crisis.
LOWEST_INCIDENT_TIER = Tier.YELLOW


async def apply_fall(session: AsyncSession, fall: RiskTierFell, *, clock: Clock) -> Outcome:
    """Let a watchlist's fall reach its held crisis and its open incident (module docstring)."""
    await repository.lock_watchlist(session, fall.watchlist_id)
    now = clock.now()
    incident = await watchlist_incident(session, fall.organization_id, fall.watchlist_id)
    await snooze.follow_fall(session, fall, reaches_incident=incident is not None)
    await mark(session, fall.organization_id, fall.signal_id, HowApplied.FELL, incident, at=now)
    if incident is None:
        return Outcome()
    previous, follows = Tier(incident.tier), _follows(incident, fall)
    target = await _target(session, incident, follows)
    lowered = target.rank < previous.rank
    # A tier set by a person stopped the incident from going as low as the fall.
    held_by_hand = follows.rank < min(target.rank, previous.rank)
    if lowered:
        await changes.apply_tier(session, incident, target, now=now)
    event = timeline.risk_fell(
        session,
        incident,
        fall,
        previous=previous,
        held_by_hand=held_by_hand,
        suggested=_suggestion(incident, fall),
        at=now,
    )
    incident.updated_at = now
    session.add(incident)
    await session.flush()
    messages: list[Message] = []
    if lowered:
        messages.append(
            await changes.tier_changed_event(
                session,
                incident,
                event,
                previous=previous,
                actor=timeline.SYSTEM_ACTOR,
                reasons=fall.reasons,
                added_tasks=[],
                now=now,
            )
        )
    return Outcome.emit(*messages)


def _follows(incident: Incident, fall: RiskTierFell) -> Tier:
    """Return the tier the incident would follow the fall to, before any tier set by hand."""
    if incident.watchlist_id != fall.watchlist_id:
        return Tier(incident.tier)
    if fall.tier is None or fall.tier.rank < LOWEST_INCIDENT_TIER.rank:
        return LOWEST_INCIDENT_TIER
    return fall.tier


async def _target(session: AsyncSession, incident: Incident, follows: Tier) -> Tier:
    """Return the tier the incident goes to: `follows`, but not below one a person set."""
    by_hand = await signals_repository.tier_set_by_hand(session, incident.id)
    if by_hand is not None and Tier(by_hand).rank > follows.rank:
        return Tier(by_hand)
    return follows


def _suggestion(incident: Incident, fall: RiskTierFell) -> IncidentStatus | None:
    """Suggest `recovering` once no crisis tier is left, where the incident may move there."""
    crisis_left = fall.tier is not None and fall.tier.opens_incident
    recovering = IncidentStatus.RECOVERING
    if crisis_left or recovering not in ALLOWED[IncidentStatus(incident.status)]:
        return None
    return recovering
