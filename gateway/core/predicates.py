"""Stored vocabularies in SQL and back: tier and status ranks, open incidents.

Tiers sort by severity and incident statuses by their place in the lifecycle, not
alphabetically; several lists and the dashboard share these expressions.
"""

from typing import Any

from sqlalchemy import case
from sqlalchemy.sql.elements import ColumnElement

from libs.contracts.enums import IncidentStatus, Tier

# How the risk model stores "below blue" (no tier) in `risk_signal.tier`.
NO_TIER = "none"
TIER_RANKS = {tier: rank for rank, tier in enumerate(Tier, start=1)}
OPEN_STATUSES = tuple(status.value for status in IncidentStatus if status.is_open)


def parse_tier(value: str | None) -> Tier | None:
    """Read a stored tier: NULL and "none" (dropped below blue) are both no tier."""
    return None if value is None or value == NO_TIER else Tier(value)


def tier_rank(column: Any) -> ColumnElement[int]:
    """Rank a stored tier by severity: none (below blue) 0, blue 1 … red 4."""
    return case({tier.value: rank for tier, rank in TIER_RANKS.items()}, value=column, else_=0)


def status_rank(column: Any) -> ColumnElement[int]:
    """Rank a stored incident status by its place in the lifecycle, detected first."""
    return case({status.value: rank for rank, status in enumerate(IncidentStatus)}, value=column)
