"""A backtest by id and the list of backtests, the newest request first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from strawberry import relay

from gateway.backtests.types import Backtest
from gateway.core.context import Info
from gateway.core.filters import equals, names
from gateway.core.inputs import local_id
from gateway.core.listing import Key, ListSpec, Sorting
from libs.contracts.backtests import BacktestStatus
from libs.database import tables

backtest = tables.Backtest


@strawberry.input(description="Narrow a backtest list; every given condition must hold.")
class BacktestFilter:
    watchlist_id: relay.GlobalID | None = names(backtest.watchlist_id, "Watchlist")
    status: BacktestStatus | None = equals(backtest.status)


BACKTEST_ORDER = Sorting("Sort backtests.", REQUESTED_AT=Key.time(backtest.requested_at))
BACKTEST_LIST = ListSpec(Backtest, BacktestFilter, BACKTEST_ORDER, noun="a backtest list")


@strawberry.type
class BacktestQuery:
    @strawberry.field(
        description="One backtest by its global id; null if not in your organization."
    )
    async def backtest(self, info: Info, id: relay.GlobalID) -> Backtest | None:
        return await Backtest.load(info, local_id(id, "Backtest"))

    backtests = BACKTEST_LIST.connection_field(
        "Backtests of your organization's watchlists, the newest request first unless "
        "`orderBy` says otherwise."
    )
