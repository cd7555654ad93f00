"""A daily risk check as clients read it: the stored report, with links to what it names.

The report is the `risk_check.completed` event's body as it was on the day (read back
through `RiskCheckCompleted`); the linked watchlists, stories and incidents are read as
they are now, and are null once deleted.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel

from gateway.core.context import Info
from gateway.core.enums import IncidentStatus, Tier, WatchlistKind
from gateway.core.nodes import LoadedNode
from gateway.core.rows import FromRow, converted
from gateway.incidents.types import Incident
from gateway.risk_checks.loaders import RISK_CHECKS
from gateway.stories.types import Story
from gateway.watchlists.types import Watchlist
from libs.contracts import events


# Bases of the items that name a watchlist or an incident: their link to it as it is now.
@strawberry.type
class _OfWatchlist(FromRow):
    watchlist_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The watchlist as it is now; null once deleted.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        return await Watchlist.load(info, self.watchlist_id)


@strawberry.type
class _OfIncident(FromRow):
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The incident as it is now; null once deleted.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)


@strawberry.type(description="A watchlist holding a tier when the check ran.")
class RiskCheckWatchlist(_OfWatchlist):
    CONVERTED = converted(tier=Tier, kind=WatchlistKind)

    name: str
    tier: Tier
    kind: WatchlistKind = strawberry.field(description="What it watched on the day.")


@strawberry.type(description="A watchlist that raised risk signals in the 24 hours checked.")
class RiskCheckSpike(_OfWatchlist):
    CONVERTED = converted(tier=Tier, kind=WatchlistKind)

    name: str
    tier: Tier = strawberry.field(description="The highest tier its signals reached.")
    signals: int = strawberry.field(description="How many tiered signals it raised.")
    last_at: datetime = strawberry.field(description="When the last of them was raised.")
    reasons: list[str] = strawberry.field(description="The reasons of its most severe signal.")
    kind: WatchlistKind = strawberry.field(
        description="What it watched on the day: a competitor's spike opened no incident."
    )


@strawberry.type(description="A story with negative mentions posted in the 24 hours checked.")
class RiskCheckStory(FromRow):
    title: str
    negative: int = strawberry.field(description="Its negative mentions in those 24 hours.")
    mentions: int = strawberry.field(description="All its mentions in those 24 hours.")
    story_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The story as it is now; null once deleted.")
    async def story(self, info: Info) -> Story | None:
        return await Story.load(info, self.story_id)


@strawberry.type(description="A term more mentions carried than in the 24 hours before.")
class RiskCheckTerm(FromRow):
    term: str
    mentions: int = strawberry.field(description="Mentions carrying it in the 24 hours checked.")
    previous: int = strawberry.field(description="Mentions carrying it in the 24 hours before.")


@strawberry.type(description="An incident being handled when the check ran.")
class RiskCheckIncident(_OfIncident):
    CONVERTED = converted(tier=Tier, status=IncidentStatus)

    title: str
    tier: Tier
    status: IncidentStatus
    detected_at: datetime


@strawberry.type(description="A response task of an open incident overdue when the check ran.")
class RiskCheckOverdueTask(_OfIncident):
    title: str
    due_at: datetime


Built = TypeVar("Built", bound=FromRow)


def _each(built: type[Built], items: Sequence[BaseModel]) -> list[Built]:
    """Build one GraphQL object per report item, each field from the item's field of its name."""
    return [built.from_row(item) for item in items]


@strawberry.type(
    description=(
        "The daily risk check (定期风险排查) of your organization: one per local day, at the "
        "configured hour, also sent to webhooks and chat bots as `risk_check.completed`. Lists "
        "hold at most ten items (five stories), most severe first; the counts count everything."
    )
)
class RiskCheck(LoadedNode):
    ROWS = RISK_CHECKS

    day: date = strawberry.field(description="The local day checked, in `timeZone`.")
    time_zone: str = strawberry.field(description="The IANA time zone of `day`.")
    checked_at: datetime
    report: strawberry.Private[dict[str, Any]]

    def _report(self) -> events.RiskCheckCompleted:
        return events.RiskCheckCompleted.model_validate(self.report)

    @strawberry.field(description="Start of the 24 hours the check looked back over.")
    def since(self) -> datetime:
        return self._report().since

    @strawberry.field(description="Watchlists holding a tier, red first.")
    def watchlists(self) -> list[RiskCheckWatchlist]:
        return _each(RiskCheckWatchlist, self._report().watchlists)

    @strawberry.field(description="Watchlists that raised tiered risk signals, most severe first.")
    def spikes(self) -> list[RiskCheckSpike]:
        return _each(RiskCheckSpike, self._report().spikes)

    @strawberry.field(description="Stories with the most negative mentions, most first.")
    def negative_stories(self) -> list[RiskCheckStory]:
        return _each(RiskCheckStory, self._report().negative_stories)

    @strawberry.field(description="Terms carried at least twice as often as the day before.")
    def rising_terms(self) -> list[RiskCheckTerm]:
        return _each(RiskCheckTerm, self._report().rising_terms)

    @strawberry.field(description="Open incidents, most severe first.")
    def open_incidents(self) -> list[RiskCheckIncident]:
        return _each(RiskCheckIncident, self._report().open_incidents)

    @strawberry.field(description="How many incidents were open.")
    def open_incident_count(self) -> int:
        return self._report().open_incident_total

    @strawberry.field(description="Overdue tasks of open incidents, the longest overdue first.")
    def overdue_tasks(self) -> list[RiskCheckOverdueTask]:
        return _each(RiskCheckOverdueTask, self._report().overdue_tasks)

    @strawberry.field(description="How many tasks of open incidents were overdue.")
    def overdue_task_count(self) -> int:
        return self._report().overdue_task_total
