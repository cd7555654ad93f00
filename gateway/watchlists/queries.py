"""Watchlist lists: every watchlist at once, or page by page, by name unless sorted otherwise."""

from datetime import datetime

import strawberry
from sqlmodel import col

from gateway.core.listing import (
    Key,
    ListSpec,
    OrderDirection,
    contains,
    equal,
    since,
    tier_at_least,
)
from gateway.core.predicates import tier_rank
from gateway.watchlists.types import Watchlist, WatchlistFilter
from libs.database import tables

watchlist = tables.Watchlist
WATCHLIST_LIST = ListSpec(
    "Watchlist",
    kind="watchlist",
    table=watchlist,
    node=Watchlist,
    keys={
        "NAME": Key(col(watchlist.name).collate("C"), str),
        "CREATED_AT": Key(col(watchlist.created_at), datetime),
        "UPDATED_AT": Key(col(watchlist.updated_at), datetime),
        "TIER": Key(tier_rank(col(watchlist.current_tier)), int),
    },
    direction=OrderDirection.ASC,
    filter=WatchlistFilter,
    where={
        "tier": equal(col(watchlist.current_tier)),
        "min_tier": tier_at_least(col(watchlist.current_tier)),
        "name_contains": contains(col(watchlist.name)),
        "spiked_since": since(col(watchlist.last_spike_at)),
    },
    noun="a watchlist list",
    description=(
        "Sort watchlists; `NAME` in code point order, `TIER` by current tier's severity "
        "(below blue lowest)."
    ),
)


@strawberry.type
class WatchlistQuery:
    watchlists = WATCHLIST_LIST.list_field(
        "Every watchlist of your organization, by name unless `orderBy` says otherwise; "
        "`watchlistsConnection` pages the same list.",
        unordered=[col(watchlist.name)],
    )


@strawberry.type
class WatchlistPageQuery:
    watchlists_connection = WATCHLIST_LIST.connection_field(
        "Watchlists page by page, by name (code point order) unless `orderBy` says otherwise."
    )
