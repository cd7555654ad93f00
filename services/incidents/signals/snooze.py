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
"""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.response import SnoozeWatchlist
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
