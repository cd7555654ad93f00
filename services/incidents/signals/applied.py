"""The applied mark: what incidents did with each risk signal, kept for as long as the signal.

A stored signal of a crisis tier is done when incidents applied it, not when it reached
Redis. The message receipt says a message was handled, but it names the message, not the
signal, and is pruned after a week; and a timeline names only the signals that changed an
incident. So every signal applied — a rise or a fall, whatever it did — leaves one
`applied_signal` row, in the transaction that applied it: a stored signal without one has
not been applied yet (the producer's confirmation sends its message again), and the row
says where it went. A signal applied twice (a crisis a snooze held back, applied when the
silence ends) keeps what its last application did.
"""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Incident
from services.incidents.signals import repository


class HowApplied(StrEnum):
    """What applying a signal did."""

    OPENED = "opened"  # opened an incident (timeline: `opened`)
    JOINED = "joined"  # joined an open incident at or below its tier (timeline: `signal`)
    RAISED = "raised"  # joined and raised the incident's tier (timeline: `tier_changed`)
    REOPENED = "reopened"  # reopened a recently resolved incident (timeline: `status_changed`)
    HELD = "held"  # held back by a snooze until the silence ends (no timeline yet)
    NO_CRISIS = "no_crisis"  # no crisis tier and no open incident to join: nothing to do
    # A competitor or industry watchlist's signal: it feeds share of voice, never an incident.
    WATCH_ONLY = "watch_only"
    FELL = "fell"  # a fall, on the incident's timeline (`risk_fell`) if the watchlist has one


async def mark(
    session: AsyncSession,
    organization_id: uuid.UUID,
    signal_id: uuid.UUID,
    how: HowApplied,
    incident: Incident | None,
    *,
    at: datetime,
) -> None:
    """Record, in the applying transaction, that the signal was applied and what it did."""
    await repository.mark_applied(
        session,
        organization_id=organization_id,
        signal_id=signal_id,
        outcome=how.value,
        incident_id=incident.id if incident is not None else None,
        at=at,
    )
