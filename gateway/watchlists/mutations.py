"""Watchlist changes: create and update go to the analysis service, a snooze to incidents."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import (
    Change,
    Target,
    created,
    from_result,
    not_found,
    perform,
    within_quota,
)
from gateway.core.context import Info
from gateway.core.enums import WatchlistKind
from gateway.core.errors import (
    AnyRefusal,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    QuotaExceeded,
    or_why_not,
    superseded_by,
)
from gateway.core.inputs import as_utc, input_fields
from gateway.core.owned import fetch
from gateway.watchlists.types import Watchlist, WatchlistSnooze
from libs.contracts.messages import CommandResult, CreateWatchlist, UpdateWatchlist
from libs.contracts.response import SnoozeWatchlist
from libs.database import tables

CreateWatchlistResult = Annotated[
    Watchlist | InvalidInput | Conflict | Forbidden | QuotaExceeded,
    or_why_not("CreateWatchlistResult", "The new watchlist"),
]
UpdateWatchlistResult = Annotated[
    Watchlist | InvalidInput | Conflict | NotFound | Forbidden,
    or_why_not("UpdateWatchlistResult", "The changed watchlist"),
]
SnoozeResult = Annotated[WatchlistSnooze | AnyRefusal, or_why_not("SnoozeResult", "The snooze")]


@strawberry.input(
    description=(
        "A new watchlist: a name unique in your organization, a boolean `query`, keywords, "
        "or both; without a query any of the keywords matches."
    )
)
class CreateWatchlistInput:
    name: str
    keywords: list[str] = strawberry.field(
        default_factory=list,
        description="Names segmentation keeps whole (brands, products, people).",
    )
    query: str | None = strawberry.field(
        default=None,
        description=(
            "A boolean rule: `&` or AND (or just a space), `|` or OR, `!` or NOT, parentheses, "
            '"quoted phrases" and `source:weibo`, e.g. '
            '`(奶粉 | 米粉) & (致癌 | 召回) & !谣言`. A bad rule answers InvalidInput on "query" '
            "with the column of the problem."
        ),
    )
    kind: WatchlistKind = strawberry.field(
        default=WatchlistKind.OWN_BRAND,
        description=(
            "Competitor and industry watchlists are analysed and tiered but never open or "
            "join an incident."
        ),
    )


@strawberry.input(description="Changes to a watchlist; an omitted field stays as it is.")
class UpdateWatchlistInput:
    id: relay.GlobalID
    name: str | None = None
    keywords: list[str] | None = strawberry.field(
        default=None,
        description="Replaces the keywords; a rule made from the old keywords follows them.",
    )
    query: str | None = strawberry.field(default=None, description="Replaces the rule.")
    kind: WatchlistKind | None = strawberry.field(
        default=None,
        description=(
            "Changes the kind; from the next signal on, a competitor or industry watchlist "
            "opens no incident (one already open stays until people resolve it)."
        ),
    )


WATCHLIST = Target(tables.Watchlist, "Watchlist", "watchlist", "watchlist_id")


SNOOZE = Change(
    WATCHLIST, from_result(created(tables.WatchlistSnooze, WatchlistSnooze.from_row, "Snooze"))
)


@strawberry.type
class WatchlistMutation:
    @strawberry.mutation(description="Create a watchlist; the analysis service owns it.")
    async def create_watchlist(
        self, info: Info, input: CreateWatchlistInput
    ) -> CreateWatchlistResult:
        answer = await within_quota(
            perform(
                info,
                CreateWatchlist,
                created(tables.Watchlist, Watchlist.from_row, "Watchlist"),
                accept=(InvalidInput, Conflict),
                **input_fields(input),
            )
        )
        return cast(Watchlist | InvalidInput | Conflict | Forbidden | QuotaExceeded, answer)

    @strawberry.mutation(
        description="Change a watchlist's name, keywords or rule; the analysis service owns it."
    )
    async def update_watchlist(
        self, info: Info, input: UpdateWatchlistInput
    ) -> UpdateWatchlistResult:
        async def changed(
            info: Info, watchlist: tables.Watchlist, result: CommandResult
        ) -> Watchlist | NotFound:
            row = await fetch(info, tables.Watchlist, watchlist.id)
            return Watchlist.from_row(row) if row is not None else not_found("watchlist", input.id)

        update = Change(WATCHLIST, changed, accept=(InvalidInput, Conflict, NotFound))
        fields = input_fields(input, but=("id",))
        answer = await update(info, input.id, UpdateWatchlist, **fields)
        return cast(Watchlist | InvalidInput | Conflict | NotFound | Forbidden, answer)


@strawberry.input(description="The watchlist to silence, until when, and why.")
class WatchlistSnoozeInput:
    id: relay.GlobalID
    until: datetime = strawberry.field(
        description="Within the next 30 days; a time without an offset is UTC."
    )
    reason: str


SNOOZED = (
    "Silence a watchlist until a time within the next 30 days: its signals open no incident "
    "meanwhile. A reason is required."
)


@strawberry.type
class SnoozeMutation:
    @strawberry.mutation(description=SNOOZED, deprecation_reason=superseded_by("watchlistSnooze"))
    async def snooze_watchlist(
        self, info: Info, watchlist_id: relay.GlobalID, until: datetime, reason: str
    ) -> SnoozeResult:
        return await SNOOZE(info, watchlist_id, SnoozeWatchlist, until=as_utc(until), reason=reason)

    @strawberry.mutation(description=SNOOZED)
    async def watchlist_snooze(self, info: Info, input: WatchlistSnoozeInput) -> SnoozeResult:
        until = as_utc(input.until)
        return await SNOOZE(info, input.id, SnoozeWatchlist, until=until, reason=input.reason)
