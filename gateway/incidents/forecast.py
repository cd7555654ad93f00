"""`Incident.forecast`: where an open incident is heading at its current pace.

Computed on read from the same figures and the same forecaster (`libs.forecast`) the
incidents service puts in every event's summary, so the console, chat cards and webhooks
never disagree. The method and its measured error are in docs/forecast.md.
"""

import uuid
from datetime import UTC, datetime

import strawberry

from gateway.core.context import Info
from gateway.core.enums import Tier
from libs.contracts.enums import DeadlineThreat, ForecastTrend
from libs.database.tables import Incident as IncidentRow
from libs.forecast import HORIZONS, Forecast, Projection, forecast, summary
from libs.forecast.contract import seconds
from libs.forecast.inputs import trajectory

strawberry.enum(ForecastTrend, description="Where an incident's pace is heading.")
strawberry.enum(
    DeadlineThreat,
    description="What a forecast expects before a deadline: the next tier, or the peak.",
)


@strawberry.type(description="The tier and reach a forecast expects some time ahead.")
class ForecastHorizon:
    after_seconds: int = strawberry.field(description="How far ahead: 3600 or 14400.")
    tier: Tier | None = strawberry.field(description="Null when the talk would fall below blue.")
    score: float = strawberry.field(description="The projected risk score, 0–100.")
    mentions_per_window: float = strawberry.field(
        description="The projected mentions per 15-minute window."
    )
    reach: int = strawberry.field(description="Audience reached since detection, views summed.")


@strawberry.type(description="An open task's deadline that the next tier or the peak beats.")
class DeadlineAtRisk:
    task_id: uuid.UUID
    kind: str
    title: str
    due_at: datetime
    seconds_left: int = strawberry.field(description="Seconds from now until the deadline.")
    threat: DeadlineThreat
    threat_at: datetime = strawberry.field(description="When the next tier or the peak comes.")


@strawberry.type(
    description=(
        "Where the incident is heading at its current pace: tier and reach in 1 h and 4 h, "
        "the time to the next tier, the peak, and the deadlines at risk (docs/forecast.md)."
    )
)
class IncidentForecast:
    at: datetime = strawberry.field(description="When the forecast was made.")
    trend: ForecastTrend
    growth_per_hour: float = strawberry.field(
        description="The fitted growth of the watchlist's mentions: log change per hour."
    )
    in_one_hour: ForecastHorizon
    in_four_hours: ForecastHorizon
    next_tier: Tier | None = strawberry.field(description="Null at red.")
    seconds_to_next_tier: int | None = strawberry.field(
        description="Null when the pace is flat or falling, at red, or beyond four hours."
    )
    seconds_to_peak: int | None = strawberry.field(
        description="Null when the peak is not ahead (the pace is flat or falling)."
    )
    deadlines_at_risk: list[DeadlineAtRisk] = strawberry.field(
        description="Open deadlines the next tier or the peak comes before, soonest first."
    )
    summary: str = strawberry.field(
        description="In one Chinese line, e.g. 约12分钟后升至红色；首次声明3小时40分钟后到期."
    )

    @classmethod
    def of(cls, result: Forecast) -> "IncidentForecast":
        """Build from the forecaster's result."""
        one, four = (result.projection(after) for after in HORIZONS)
        return cls(
            at=result.now,
            trend=result.trend,
            growth_per_hour=result.growth_per_hour,
            in_one_hour=_horizon(one),
            in_four_hours=_horizon(four),
            next_tier=result.next_tier,
            seconds_to_next_tier=seconds(result.time_to_next_tier),
            seconds_to_peak=seconds(result.time_to_peak),
            deadlines_at_risk=[
                DeadlineAtRisk(
                    task_id=risk.deadline.task_id,
                    kind=risk.deadline.kind,
                    title=risk.deadline.title,
                    due_at=risk.deadline.due_at,
                    seconds_left=round(risk.time_left(result.now).total_seconds()),
                    threat=risk.threat,
                    threat_at=risk.threat_at,
                )
                for risk in result.at_risk
            ],
            summary=summary(result),
        )


def _horizon(projection: Projection) -> ForecastHorizon:
    return ForecastHorizon(
        after_seconds=round(projection.after.total_seconds()),
        tier=projection.tier,
        score=projection.score,
        mentions_per_window=projection.mentions_per_window,
        reach=projection.reach,
    )


async def incident_forecast(info: Info, incident_id: uuid.UUID) -> IncidentForecast | None:
    """Return the incident's forecast now; None once the incident is closed."""
    async with info.context.sessions() as session:
        row = await session.get(IncidentRow, incident_id)
        if row is None:
            return None
        read = await trajectory(session, row, datetime.now(UTC))
    return IncidentForecast.of(forecast(read)) if read is not None else None
