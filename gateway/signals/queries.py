"""The risk-signal list, newest first unless sorted otherwise."""

from datetime import datetime

import strawberry
from sqlmodel import col

from gateway.core.listing import (
    Key,
    ListSpec,
    OrderDirection,
    at_least,
    before,
    equal,
    holds,
    names,
    since,
    tier_at_least,
)
from gateway.core.predicates import tier_rank
from gateway.signals.types import RiskSignal, SignalFilter
from libs.database import tables

signal = tables.RiskSignal
SIGNAL_LIST = ListSpec(
    "Signal",
    kind="signal",
    table=signal,
    node=RiskSignal,
    keys={
        "CREATED_AT": Key(col(signal.created_at), datetime),
        "SCORE": Key(col(signal.score), float),
        "TIER": Key(tier_rank(col(signal.tier)), int),
    },
    direction=OrderDirection.DESC,
    filter=SignalFilter,
    where={
        "watchlist_id": names(col(signal.watchlist_id), "Watchlist"),
        "tier": equal(col(signal.tier)),
        "min_tier": tier_at_least(col(signal.tier)),
        # "none" and anything unknown rank 0, below blue.
        "below_blue": holds(lambda scope: tier_rank(col(signal.tier)) == 0),
        "min_score": at_least(col(signal.score)),
        "crisis_type": equal(col(signal.crisis_type)),
        "since": since(col(signal.created_at)),
        "until": before(col(signal.created_at)),
    },
    noun="a risk-signal list",
    description="Sort risk signals; `TIER` by severity, no tier lowest.",
)


@strawberry.type
class SignalQuery:
    signals = SIGNAL_LIST.connection_field(
        "Risk signals (tier decisions with their reasons), newest first unless `orderBy` "
        "says otherwise."
    )
