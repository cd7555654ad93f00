"""A backtest as clients read it: the replay's findings, compared with the incidents recorded.

The findings are what the worker stored (`libs.contracts.backtests.BacktestFindings`); the
comparison with recorded incidents is made when read, once per object, so an incident
marked a false alarm after the backtest ran counts as one.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any

import strawberry
from strawberry.types.unset import UNSET, UnsetType

from gateway.backtests.loaders import BACKTESTS, recorded_incidents
from gateway.core.context import Info
from gateway.core.enums import Tier
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted, optional
from gateway.incidents.types import Incident
from gateway.mentions.types import Mention
from gateway.watchlists.types import Watchlist
from libs.contracts import backtests

strawberry.enum(
    backtests.BacktestStatus,
    description="Where a backtest is: QUEUED until a worker has replayed it, then DONE or FAILED.",
)


@strawberry.type(description="A tier change the rule would have made.")
class BacktestTierChange:
    at: datetime = strawberry.field(description="The posting time of the mention that moved it.")
    previous: Tier | None = strawberry.field(description="The tier before; null for none.")
    tier: Tier | None = strawberry.field(description="The tier after; null for none.")
    score: float
    reasons: list[str]
    top_mention_ids: strawberry.Private[list[uuid.UUID]]

    @strawberry.field(description="The mentions that weighed most, as they are now.")
    async def top_mentions(self, info: Info) -> list[Mention]:
        return await Mention.load_many(info, self.top_mention_ids)


@strawberry.type(
    description=(
        "An incident the rule would have opened: the watchlist at yellow or above, from "
        "`openedAt` until it fell below yellow (`endedAt`, null if not within the range)."
    )
)
class BacktestOpening:
    opened_at: datetime
    peak_tier: Tier
    ended_at: datetime | None
    incident_ids: strawberry.Private[list[uuid.UUID]]

    @strawberry.field(
        description="The recorded incidents of the watchlist it coincides with (±30 minutes)."
    )
    async def incidents(self, info: Info) -> list[Incident]:
        return await Incident.load_many(info, self.incident_ids)


@strawberry.type(description="An incident recorded for the watchlist within the replayed range.")
class BacktestRecordedIncident:
    detected_at: datetime
    false_alarm: bool = strawberry.field(description="Whether it was closed as a false alarm.")
    raised_again: bool = strawberry.field(description="Whether the rule would open it again.")
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The incident as it is now; null once deleted.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)


@strawberry.type(
    description=(
        "A replay of a watchlist's mentions under its rule or a draft one (`backtestWatchlist`), "
        "read only: nothing live changes. Poll it until `status` is DONE or FAILED."
    )
)
class Backtest(LoadedNode):
    ROWS = BACKTESTS
    CONVERTED = converted(status=backtests.BacktestStatus, error=optional(str))

    query: str = strawberry.field(description="The rule replayed, in canonical form.")
    since: datetime
    until: datetime
    status: backtests.BacktestStatus
    requested_by: str = strawberry.field(description="The key that asked for it.")
    requested_at: datetime
    finished_at: datetime | None
    mentions_read: int = strawberry.field(
        description="Mentions replayed, with the baseline span before `since`."
    )
    mentions_matched: int = strawberry.field(description="Of them, in range and matching the rule.")
    error: str | None = strawberry.field(description="Why it FAILED; null otherwise.")
    watchlist_id: strawberry.Private[uuid.UUID]
    result: strawberry.Private[dict[str, Any]]
    compared: strawberry.Private[backtests.Comparison | UnsetType] = UNSET

    def _findings(self) -> backtests.BacktestFindings | None:
        if self.status != backtests.BacktestStatus.DONE:
            return None
        return backtests.BacktestFindings.model_validate(self.result)

    async def _comparison(self, info: Info) -> backtests.Comparison | None:
        findings = self._findings()
        if findings is None:
            return None
        if isinstance(self.compared, UnsetType):
            recorded = await recorded_incidents(
                info.context.sessions,
                info.context.principal.organization_id,
                self.watchlist_id,
                self.since,
                self.until,
            )
            self.compared = backtests.compare(findings.would_open, recorded, self.until)
        return self.compared

    @strawberry.field(description="The watchlist replayed; null once deleted.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        return await Watchlist.load(info, self.watchlist_id)

    @strawberry.field(description="The signals it would have raised: every tier change, in order.")
    def tier_changes(self) -> list[BacktestTierChange]:
        findings = self._findings()
        return [
            BacktestTierChange(
                at=change.at,
                previous=change.previous,
                tier=change.tier,
                score=change.score,
                reasons=change.reasons,
                top_mention_ids=change.top_mention_ids,
            )
            for change in (findings.tier_changes if findings else [])
        ]

    @strawberry.field(description="The incidents it would have opened, in order.")
    async def would_open(self, info: Info) -> list[BacktestOpening]:
        findings = self._findings()
        compared = await self._comparison(info)
        if findings is None or compared is None:
            return []
        return [
            BacktestOpening(
                opened_at=opening.opened_at,
                peak_tier=opening.peak_tier,
                ended_at=opening.ended_at,
                incident_ids=compared.matched[i],
            )
            for i, opening in enumerate(findings.would_open)
        ]

    @strawberry.field(description="The incidents recorded for the watchlist in the range.")
    async def recorded_incidents(self, info: Info) -> list[BacktestRecordedIncident]:
        compared = await self._comparison(info)
        if compared is None:
            return []
        return [
            BacktestRecordedIncident(
                detected_at=r.detected_at,
                false_alarm=r.false_alarm,
                raised_again=compared.raised_again[r.incident_id],
                incident_id=r.incident_id,
            )
            for r in compared.recorded
        ]

    @strawberry.field(
        description=(
            "Incidents marked false alarm that the rule would still open: what a tuning "
            "wants at 0. Null until DONE."
        )
    )
    async def false_alarms_raised(self, info: Info) -> int | None:
        compared = await self._comparison(info)
        return compared.false_alarms_raised if compared else None

    @strawberry.field(description="Incidents marked false alarm it would no longer open.")
    async def false_alarms_avoided(self, info: Info) -> int | None:
        compared = await self._comparison(info)
        return compared.false_alarms_avoided if compared else None

    @strawberry.field(description="Recorded incidents, not false alarms, it would not open.")
    async def incidents_missed(self, info: Info) -> int | None:
        compared = await self._comparison(info)
        return compared.incidents_missed if compared else None

    @strawberry.field(description="Openings matching no recorded incident: alerts never had.")
    async def new_openings(self, info: Info) -> int | None:
        compared = await self._comparison(info)
        return compared.new_openings if compared else None
