"""The risk model: from a watchlist's window to an explainable score, tier and forecast.

Pure functions over `WindowStats` (services.analysis.window), which one SQL statement builds
from the same rows in the live worker and in a backtest, so both decide identically and
every number can be checked without a database. The score is a weighted sum of eight
components in [0, 1] (`score`); the tier follows the score with a minimum volume and with
hysteresis, so a watchlist hovering at a boundary does not flap between tiers; `forecast`
projects the next tier and `reasons` explains the decision that `decision.assess` takes.
"""

from services.analysis.risk.decision import Decision, assess, spike_fired
from services.analysis.risk.forecast import Forecast, forecast
from services.analysis.risk.reasons import CRISIS_NAMES, TIER_NAMES, reasons
from services.analysis.risk.score import (
    FLOORS,
    HARM_SHARE_FULL,
    HYSTERESIS,
    MIN_VOLUME,
    NO_TIER,
    WEIGHTS,
    Components,
    components,
    next_tier,
    parse_tier,
    rank,
    tier_for,
    with_hysteresis,
)

__all__ = [
    "CRISIS_NAMES",
    "FLOORS",
    "HARM_SHARE_FULL",
    "HYSTERESIS",
    "MIN_VOLUME",
    "NO_TIER",
    "TIER_NAMES",
    "WEIGHTS",
    "Components",
    "Decision",
    "Forecast",
    "assess",
    "components",
    "forecast",
    "next_tier",
    "parse_tier",
    "rank",
    "reasons",
    "spike_fired",
    "tier_for",
    "with_hysteresis",
]
