"""Asking for a backtest: the analysis service stores it and a worker replays it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.backtests.types import Backtest
from gateway.core.commands import created, perform
from gateway.core.context import Info
from gateway.core.errors import Conflict, Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import as_utc, require_id
from libs.contracts.messages import RequestBacktest
from libs.database import tables

BacktestWatchlistResult = Annotated[
    Backtest | InvalidInput | NotFound | Conflict | Forbidden,
    or_why_not("BacktestWatchlistResult", "The backtest, QUEUED until a worker replays it"),
]


@strawberry.input(
    description=(
        "What to replay: a watchlist, a range of at most 31 days in the past, and a draft "
        "rule to try instead of the watchlist's own (nothing is saved)."
    )
)
class BacktestWatchlistInput:
    watchlist_id: relay.GlobalID
    since: datetime
    until: datetime
    query: str | None = strawberry.field(
        default=None,
        description=(
            "A draft rule in the watchlist rule syntax; a bad one answers InvalidInput on "
            '"query" with the column of the problem. Null: the watchlist\'s own rule.'
        ),
    )


@strawberry.type
class BacktestMutation:
    @strawberry.mutation(
        description=(
            "Replay a watchlist's mentions in a range under its rule or a draft one: the signals "
            "it would have raised, the incidents it would have opened and the false alarms it "
            "would raise again. Answers at once with a QUEUED backtest to poll; two may wait "
            "per organization (more answer Conflict). Keys that only read are refused."
        )
    )
    async def backtest_watchlist(
        self, info: Info, input: BacktestWatchlistInput
    ) -> BacktestWatchlistResult:
        answer = await perform(
            info,
            RequestBacktest,
            created(tables.Backtest, Backtest.from_row, "Backtest"),
            accept=(InvalidInput, NotFound, Conflict),
            watchlist_id=require_id(input.watchlist_id, "Watchlist", "watchlistId"),
            since=as_utc(input.since),
            until=as_utc(input.until),
            query=input.query,
        )
        return cast(Backtest | InvalidInput | NotFound | Conflict | Forbidden, answer)
