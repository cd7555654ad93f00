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

import uuid
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, Message
from libs.contracts.response import SnoozeWatchlist
from libs.database.tables import Watchlist, WatchlistSnooze

MAX_SNOOZE = timedelta(days=30)


async def silenced_until(
    session: AsyncSession, watchlist_id: uuid.UUID, at: datetime
) -> datetime | None:
    """Return until when `watchlist_id` is snoozed as of `at`, or None if it is not."""
    result = await session.exec(
        select(func.max(WatchlistSnooze.until)).where(
            WatchlistSnooze.watchlist_id == watchlist_id, WatchlistSnooze.until > at
        )
    )
    return result.first()


async def snooze_watchlist(
    session: AsyncSession, command: SnoozeWatchlist, *, now: datetime
) -> tuple[CommandResult, list[Message]]:
    """Silence a watchlist until `command.until`, which must lie within the next 30 days."""
    result = await session.exec(
        select(Watchlist.id).where(
            Watchlist.id == command.watchlist_id,
            Watchlist.organization_id == command.organization_id,
        )
    )
    if result.first() is None:
        message = f"watchlist {command.watchlist_id} not found"
        return CommandResult.failure("NotFound", message, field="watchlistId"), []
    reason = command.reason.strip()
    if not reason:
        return CommandResult.failure("Invalid", "a reason is required", field="reason"), []
    if command.until <= now:
        message = f"until must be in the future (now is {now.isoformat()})"
        return CommandResult.failure("Invalid", message, field="until"), []
    if command.until - now > MAX_SNOOZE:
        message = f"until must be at most {MAX_SNOOZE.days} days ahead"
        return CommandResult.failure("Invalid", message, field="until"), []
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
    until = await silenced_until(session, command.watchlist_id, now)
    return (
        CommandResult.success(
            id=str(snooze.id),
            watchlist_id=str(command.watchlist_id),
            until=command.until.isoformat(),
            silenced_until=until.isoformat() if until else None,
            reason=reason,
        ),
        [],
    )
