"""What a daily risk check says, computed from real rows, and when one is due.

`due_day` decides from the clock alone whether today's check is due; `run` builds one
organization's report, stores it (once per local day) and records its event. The report
is `RiskCheckCompleted`: the stored row, the webhook payload and the GraphQL read are the
same document.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Tier
from libs.contracts.events import (
    NegativeStory,
    OpenIncident,
    OverdueTask,
    RisingTerm,
    RiskCheckCompleted,
    Spike,
    TieredWatchlist,
)
from libs.contracts.outcome import Outcome
from libs.database.mention_window import Scope, top_terms
from libs.database.tables import RiskCheck
from libs.ids import new_id
from services.incidents import events
from services.incidents.risk_check import repository

LOOKBACK = timedelta(hours=24)
# How long each list of the digest may grow; the totals still count everything.
LIST_LIMIT = 10
TOP_STORIES = 5
# A term rises when at least this many mentions carried it, and at least twice as many as
# in the 24 hours before: fewer is noise, and a steady term is not news.
RISING_MIN_MENTIONS = 3
RISING_FACTOR = 2
# How many of the window's most carried terms are compared with the day before.
TERM_CANDIDATES = 50
TERM_KIND = "token"


@dataclass(frozen=True)
class Schedule:
    """When checks run: the hour of the local day, in which time zone."""

    hour: int
    zone: ZoneInfo

    def due_day(self, now: datetime) -> date | None:
        """Return the local day whose check is due at `now`, or None before the hour."""
        local = now.astimezone(self.zone)
        return local.date() if local.hour >= self.hour else None


def _tier_rank(value: str) -> int:
    try:
        return Tier(value).rank
    except ValueError:
        return -1


Item = TypeVar("Item", bound=BaseModel)


def _items(model: type[Item], found: Sequence[Any], *, severe_first: bool = False) -> list[Item]:
    """Read rows labelled like `model`'s fields; the most severe tier first if asked (the
    sort is stable, so rows of one tier keep the order SQL gave them)."""
    items = [model.model_validate(row, from_attributes=True) for row in found]
    if severe_first:
        items.sort(key=lambda item: -_tier_rank(getattr(item, "tier", "")))
    return items


async def _rising_terms(session: AsyncSession, scope: Scope) -> list[RisingTerm]:
    """Terms the window's mentions carried at least twice as often as the day before."""
    current = await top_terms(session, scope, TERM_KIND, TERM_CANDIDATES)
    before = Scope(scope.organization_id, scope.since - LOOKBACK, scope.since)
    earlier = await top_terms(
        session, before, TERM_KIND, TERM_CANDIDATES, only=[row.term for row in current]
    )
    previous = {row.term: row.mentions for row in earlier}
    rising = [
        RisingTerm(term=row.term, mentions=row.mentions, previous=previous.get(row.term, 0))
        for row in current
        if row.mentions >= RISING_MIN_MENTIONS
        and row.mentions >= RISING_FACTOR * previous.get(row.term, 0)
    ]
    rising.sort(key=lambda term: (-(term.mentions - term.previous), term.term))
    return rising[:LIST_LIMIT]


async def report(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    check_id: uuid.UUID,
    day: date,
    time_zone: str,
    now: datetime,
) -> RiskCheckCompleted:
    """Return what the organization's check at `now` finds, read from its rows."""
    scope = Scope(organization_id, now - LOOKBACK, now)
    spikes = _items(Spike, await repository.spikes(session, scope), severe_first=True)
    spikes.sort(key=lambda spike: (-_tier_rank(spike.tier), -spike.signals, spike.name))
    incidents = _items(
        OpenIncident, await repository.open_incidents(session, organization_id), severe_first=True
    )
    overdue = _items(OverdueTask, await repository.overdue_tasks(session, organization_id, now))
    return RiskCheckCompleted(
        check_id=check_id,
        day=day,
        time_zone=time_zone,
        checked_at=now,
        since=scope.since,
        watchlists=_items(
            TieredWatchlist,
            await repository.tiered_watchlists(session, organization_id),
            severe_first=True,
        ),
        spikes=spikes[:LIST_LIMIT],
        negative_stories=_items(
            NegativeStory, await repository.negative_stories(session, scope, TOP_STORIES)
        ),
        rising_terms=await _rising_terms(session, scope),
        open_incidents=incidents[:LIST_LIMIT],
        open_incident_total=len(incidents),
        overdue_tasks=overdue[:LIST_LIMIT],
        overdue_task_total=len(overdue),
    )


async def unchecked(session: AsyncSession, day: date) -> list[uuid.UUID]:
    """Return the organizations whose check for `day` has not been stored yet."""
    return await repository.unchecked_organizations(session, day)


async def run(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    day: date,
    time_zone: str,
    now: datetime,
) -> Outcome:
    """Check the organization for `day` unless it was checked; emit the event of a new check.

    The row's unique (organization, day) decides: a second runner (a replica that lost its
    lease mid-pass, a retried pass) inserts nothing and emits nothing; the event's id comes
    from the organization and day, so even a replayed event is one event.
    """
    check_id = new_id()
    body = await report(
        session, organization_id, check_id=check_id, day=day, time_zone=time_zone, now=now
    )
    row = RiskCheck(
        id=check_id,
        organization_id=organization_id,
        day=day,
        time_zone=time_zone,
        checked_at=now,
        report=body.body(),
    )
    if not await repository.store(session, row):
        return Outcome()
    message = await events.record(
        session, body, organization_id, None, key=f"{organization_id}:{day.isoformat()}", at=now
    )
    return Outcome.emit(message)
