"""The forecast as events carry it (`IncidentForecast` in every incident summary)."""

from datetime import timedelta

from libs.contracts.response import ForecastHorizon, IncidentForecast
from libs.forecast.model import Forecast
from libs.forecast.words import summary


def seconds(span: timedelta | None) -> int | None:
    """Return a span in whole seconds, or None."""
    return None if span is None else round(span.total_seconds())


def as_contract(result: Forecast) -> IncidentForecast:
    """Return the forecast as the incident summary carries it."""
    return IncidentForecast(
        trend=result.trend,
        next_tier=result.next_tier,
        seconds_to_next_tier=seconds(result.time_to_next_tier),
        seconds_to_peak=seconds(result.time_to_peak),
        horizons=[
            ForecastHorizon(
                after_seconds=round(p.after.total_seconds()), tier=p.tier, reach=p.reach
            )
            for p in result.projections
        ],
        summary=summary(result),
    )
