"""Watchlist lists: every watchlist at once, or page by page, by name unless sorted otherwise."""

from datetime import datetime

import strawberry
from sqlalchemy import true
from sqlmodel import col

from gateway.core.enums import Tier, WatchlistKind
from gateway.core.filters import at_or_after, condition, containing, equals, tier_at_least
from gateway.core.listing import Key, ListSpec, OrderDirection, Sorting, timestamps
from gateway.core.predicates import tier_rank
from gateway.watchlists.loaders import is_drill
from gateway.watchlists.types import Watchlist
from libs.database import tables

watchlist = tables.Watchlist


@strawberry.input(description="Narrow a watchlist list; every given condition must hold.")
class WatchlistFilter:
    tier: Tier | None = equals(watchlist.current_tier, "Current tier exactly.")
    min_tier: Tier | None = tier_at_least(
        watchlist.current_tier, "Current tier this or more severe."
    )
    kind: WatchlistKind | None = equals(watchlist.kind, "Of this kind.")
    name_contains: str | None = containing(watchlist.name, "The name contains this, ignoring case.")
    spiked_since: datetime | None = at_or_after(watchlist.last_spike_at, "Last spiked at or after.")
    include_drills: bool | None = condition(
        lambda value, _, __: true() if value else ~is_drill(),
        "true: drills' own watchlists (演练) are listed too; left out otherwise.",
    )


WATCHLIST_ORDER = Sorting(
    "Sort watchlists; `NAME` in code point order, `TIER` by current tier's severity "
    "(below blue lowest).",
    OrderDirection.ASC,
    NAME=Key(col(watchlist.name).collate("C"), str),
    **timestamps(watchlist),
    TIER=Key(tier_rank(col(watchlist.current_tier)), int),
)
WATCHLIST_LIST = ListSpec(
    Watchlist, WatchlistFilter, WATCHLIST_ORDER, unless_given={"include_drills": ~is_drill()}
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
