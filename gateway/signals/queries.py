"""The risk-signal list, newest first unless sorted otherwise."""

from datetime import datetime

import strawberry
from sqlmodel import col
from strawberry import relay

from gateway.core.enums import CrisisType, Tier
from gateway.core.filters import at_least, at_or_after, before, equals, holds, names, tier_at_least
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.core.predicates import tier_rank
from gateway.signals.types import RiskSignal
from libs.database import tables

signal = tables.RiskSignal


@strawberry.input(description="Narrow a risk-signal list; every given condition must hold.")
class SignalFilter:
    watchlist_id: relay.GlobalID | None = names(signal.watchlist_id, "Watchlist")
    tier: Tier | None = equals(signal.tier)
    min_tier: Tier | None = tier_at_least(signal.tier, "This tier or a more severe one.")
    # "none" and anything unknown rank 0, below blue.
    below_blue: bool | None = holds(
        lambda scope: tier_rank(col(signal.tier)) == 0,
        "true: only signals recording a drop below blue (no tier).",
    )
    min_score: float | None = at_least(signal.score)
    crisis_type: CrisisType | None = equals(signal.crisis_type)
    since: datetime | None = at_or_after(signal.created_at, "Created at or after.")
    until: datetime | None = before(signal.created_at, "Created before.")


SIGNAL_ORDER = Sorting(
    "Sort risk signals; `TIER` by severity, no tier lowest.",
    CREATED_AT=Key.time(signal.created_at),
    SCORE=Key(col(signal.score), float),
    TIER=Key(tier_rank(col(signal.tier)), int),
)
SIGNAL_LIST = ListSpec(RiskSignal, SignalFilter, SIGNAL_ORDER, noun="a risk-signal list")


@strawberry.type
class SignalQuery:
    signals = SIGNAL_LIST.connection_field(
        "Risk signals (tier decisions with their reasons), newest first unless `orderBy` "
        "says otherwise."
    )
