"""The incident forecast: tier and reach ahead at the current pace, and the deadlines at risk.

`model` is the pure forecaster (its docstring gives the method), `words` its Chinese line,
`inputs` the read of an incident's trajectory that the incidents service and the gateway
share, so both forecast from the same figures.
"""

from libs.contracts.enums import DeadlineThreat, ForecastTrend
from libs.forecast.model import (
    HORIZONS,
    TIER_FLOORS,
    Anchor,
    Deadline,
    DeadlineAtRisk,
    Forecast,
    Projection,
    Trajectory,
    forecast,
)
from libs.forecast.words import summary

__all__ = [
    "HORIZONS",
    "TIER_FLOORS",
    "Anchor",
    "Deadline",
    "DeadlineAtRisk",
    "DeadlineThreat",
    "Forecast",
    "ForecastTrend",
    "Projection",
    "Trajectory",
    "forecast",
    "summary",
]
