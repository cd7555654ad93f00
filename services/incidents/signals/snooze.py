"""Snoozing a watchlist: a mandatory, bounded expiry on silence.

A team that knows a watchlist will be noisy for a while (a planned announcement, a known
and handled rumour) may silence it, but only until a time at most 30 days ahead and with a
reason, so nothing stays silenced by accident.

While snoozed, the watchlist's signals open no incident and do not reopen a recently
resolved one. Signals still join an incident that is already open: the team is working
on it and needs every signal, and a snooze is about not starting new work, not hiding
evidence. Whether a signal is silenced depends on when it was detected, not on when it was
handled, so a retried signal is decided the same way. Snoozes add up: the watchlist is
silent until the latest expiry among them.

Silence is not forgetting. A crisis signal the silence swallows is held on the snooze that
ends last (`hold`); the watchlist's later falls lower it or, once no crisis tier is left,
replace it with a blue mark (`follow_fall`). Only the latest news is held, by detection
time, so messages that cross change nothing. When the watchlist is silent no more, the
snooze-end sweep (`service.SNOOZE_ENDS`) takes what is held (`take_held`) and applies it:
a crisis still on after the snooze opens its incident then, one that died down meanwhile
ends quietly. Analysis tells of rises and falls only, so without this a crisis that
peaked during a snooze would never raise afterwards.
"""

import uuid
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Tier
from libs.contracts.messages import (
    CommandResult,
    ErrorCode,
    RiskSignalRaised,
    RiskTierFell,
    not_found,
)
from libs.contracts.outcome import Outcome
from libs.contracts.response import SnoozeWatchlist
from libs.contracts.vocabulary import TIER_SEVERITY
from libs.database.tables import WatchlistSnooze
from services.incidents.answers import refuse
from services.incidents.signals import repository

MAX_SNOOZE = timedelta(days=30)


async def snooze_watchlist(
    session: AsyncSession, command: SnoozeWatchlist, *, now: datetime
) -> Outcome:
    """Silence a watchlist until `command.until`, which must lie within the next 30 days."""
    if not await repository.watchlist_exists(
        session, command.organization_id, command.watchlist_id
    ):
        return Outcome.answer(not_found("watchlist", command.watchlist_id, "watchlistId"))
    reason = command.reason.strip()
    if not reason:
        return refuse(ErrorCode.INVALID, "a reason is required", "reason")
    if command.until <= now:
        message = f"until must be in the future (now is {now.isoformat()})"
        return refuse(ErrorCode.INVALID, message, "until")
    if command.until - now > MAX_SNOOZE:
        message = f"until must be at most {MAX_SNOOZE.days} days ahead"
        return refuse(ErrorCode.INVALID, message, "until")
    snooze = WatchlistSnooze(
        organization_id=command.organization_id,
        watchlist_id=command.watchlist_id,
        until=command.until,
        reason=reason,
        actor=command.actor,
        created_at=now,
    )
    session.add(snooze)
    await session.flush()
    until = await repository.silenced_until(session, command.watchlist_id, now)
    return Outcome.answer(
        CommandResult.success(
            id=str(snooze.id),
            watchlist_id=str(command.watchlist_id),
            until=command.until.isoformat(),
            silenced_until=until.isoformat() if until else None,
            reason=reason,
        )
    )


def _held(snooze: WatchlistSnooze) -> RiskSignalRaised:
    return RiskSignalRaised.model_validate(snooze.held_signal)


def _keep(snooze: WatchlistSnooze, signal: RiskSignalRaised | None) -> None:
    snooze.held_signal = signal.model_dump(mode="json") if signal is not None else None


async def hold(session: AsyncSession, signal: RiskSignalRaised) -> bool:
    """Hold `signal` back if its watchlist was silenced when it was detected; say if it was.

    The caller holds the watchlist's lock.
    """
    last = await repository.last_snooze_running(session, signal.watchlist_id, signal.detected_at)
    if last is None:
        return False
    await _keep_latest(session, signal, on=last)
    return True


async def follow_fall(
    session: AsyncSession, fall: RiskTierFell, *, reaches_incident: bool = False
) -> None:
    """Hold what the watchlist fell to: a lower crisis, or a blue mark that none is left.

    The blue mark matters when messages cross: a rise detected before the fall but handled
    after it finds newer news held and does not replace it. A fall that reaches an open
    incident, with nothing held, is not held: the incident has it, rises join that incident
    rather than wait, and a fall kept until the silence ended would reopen the incident if
    a person resolved it meanwhile, although nothing was held back from it.
    """
    holding = await repository.snoozes_holding(session, fall.watchlist_id)
    before = _held(holding[0]) if holding else None
    still_on = fall.tier is not None and fall.tier.opens_incident
    signal = RiskSignalRaised(
        organization_id=fall.organization_id,
        signal_id=fall.signal_id,
        watchlist_id=fall.watchlist_id,
        watchlist_name=fall.watchlist_name,
        tier=fall.tier if fall.tier is not None and still_on else Tier.BLUE,
        score=fall.score,
        reasons=list(fall.reasons),
        detected_at=fall.detected_at,
        crisis_type=before.crisis_type if before else None,
        story_id=before.story_id if before else None,
    )
    if holding:
        # Held already: follow even a fall detected after the silence, before its end pass.
        await _keep_latest(session, signal, on=holding[0])
    elif not reaches_incident:
        await hold(session, signal)


async def _keep_latest(
    session: AsyncSession, signal: RiskSignalRaised, *, on: WatchlistSnooze
) -> None:
    """Keep `signal` on `on` alone, unless something detected later is held already."""
    holding = await repository.snoozes_holding(session, signal.watchlist_id)
    if any(_held(s).detected_at > signal.detected_at for s in holding):
        return
    for snooze in holding:
        _keep(snooze, None)
        session.add(snooze)
    _keep(on, signal)
    session.add(on)


async def take_held(
    session: AsyncSession, watchlist_id: uuid.UUID, now: datetime
) -> RiskSignalRaised | None:
    """Take the crisis held for a watchlist silent no more at `now`, dated at the silence's end.

    None when nothing is held, when what is held is no crisis any more (the crisis died
    down meanwhile: the hold is cleared quietly) or the watchlist is still silenced.
    """
    holding = await repository.snoozes_holding(session, watchlist_id)
    if not holding or await repository.silenced_until(session, watchlist_id, now):
        return None
    held = _held(holding[0])
    for snooze in holding:
        _keep(snooze, None)
        session.add(snooze)
    if not held.tier.opens_incident:
        return None
    ended = await repository.silence_ended(session, watchlist_id, now) or now
    note = f"静默期于{ended:%Y-%m-%d %H:%M} UTC结束时风险仍为{TIER_SEVERITY[held.tier]}级"
    return held.model_copy(update={"detected_at": ended, "reasons": [*held.reasons, note]})
