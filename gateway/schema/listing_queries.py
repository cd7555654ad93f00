"""Top-level lists a war-room console pages through: signals, tasks, statements, reviews.

Each is a Relay connection over the caller's organization with a `filter` (every given
condition must hold) and an `orderBy`; cursors only continue the order they came from.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime

import strawberry
from sqlmodel import col
from strawberry import relay

from gateway.context import Info
from gateway.schema import listings
from gateway.schema.authors import AuthorOrder, AuthorSummaryConnection, author_page
from gateway.schema.filters import (
    AuthorFilter,
    ReviewReportFilter,
    SignalFilter,
    StatementFilter,
    TaskFilter,
    WatchlistFilter,
)
from gateway.schema.ordering import (
    ReviewReportOrder,
    SignalOrder,
    StatementOrder,
    TaskOrder,
    WatchlistOrder,
)
from gateway.schema.pagination import fetch_connection
from gateway.schema.response_types import ReviewReport, Statement
from gateway.schema.types import ResponseTask, RiskSignal, Watchlist
from libs.database import tables


@strawberry.type
class ListingQuery:
    @strawberry.field(
        description=(
            "Risk signals (tier decisions with their reasons), newest first unless `orderBy` "
            "says otherwise."
        )
    )
    async def signals(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: SignalFilter | None = None,
        order_by: SignalOrder | None = None,
    ) -> relay.Connection[RiskSignal]:
        return await fetch_connection(
            info.context.sessions,
            listings.signals(info.context.principal.organization_id, filter, order_by),
            relay.Connection[RiskSignal],
            RiskSignal.from_row,
            kind="signal",
            id_column=col(tables.RiskSignal.id),
            first=first,
            after=after,
        )

    @strawberry.field(
        description=(
            "Response tasks across incidents, soonest due first unless `orderBy` says "
            'otherwise; e.g. `filter: {overdue: true, person: "王经理"}` for one person\'s '
            "overdue tasks."
        )
    )
    async def tasks(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: TaskFilter | None = None,
        order_by: TaskOrder | None = None,
    ) -> relay.Connection[ResponseTask]:
        organization_id = info.context.principal.organization_id
        return await fetch_connection(
            info.context.sessions,
            listings.tasks(organization_id, filter, order_by, datetime.now(UTC)),
            relay.Connection[ResponseTask],
            ResponseTask.from_row,
            kind="task",
            id_column=col(tables.ResponseTask.id),
            first=first,
            after=after,
        )

    @strawberry.field(
        description=("Statements across incidents, newest first unless `orderBy` says otherwise.")
    )
    async def statements(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: StatementFilter | None = None,
        order_by: StatementOrder | None = None,
    ) -> relay.Connection[Statement]:
        return await fetch_connection(
            info.context.sessions,
            listings.statements(info.context.principal.organization_id, filter, order_by),
            relay.Connection[Statement],
            Statement.from_row,
            kind="statement",
            id_column=col(tables.Statement.id),
            first=first,
            after=after,
        )

    @strawberry.field(
        description="Review reports (复盘), newest first unless `orderBy` says otherwise."
    )
    async def review_reports(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: ReviewReportFilter | None = None,
        order_by: ReviewReportOrder | None = None,
    ) -> relay.Connection[ReviewReport]:
        return await fetch_connection(
            info.context.sessions,
            listings.review_reports(info.context.principal.organization_id, filter, order_by),
            relay.Connection[ReviewReport],
            ReviewReport.from_row,
            kind="review-report",
            id_column=col(tables.ReviewReport.id),
            first=first,
            after=after,
        )

    @strawberry.field(
        description=(
            "Watchlists page by page, by name (code point order) unless `orderBy` says otherwise."
        )
    )
    async def watchlists_connection(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: WatchlistFilter | None = None,
        order_by: WatchlistOrder | None = None,
    ) -> relay.Connection[Watchlist]:
        return await fetch_connection(
            info.context.sessions,
            listings.watchlists(info.context.principal.organization_id, filter, order_by),
            relay.Connection[Watchlist],
            Watchlist.from_row,
            kind="watchlist",
            id_column=col(tables.Watchlist.id),
            first=first,
            after=after,
        )

    @strawberry.field(
        description=(
            "Authors with their volume, reach and influence among the mentions the filter "
            "counts, most mentions first unless `orderBy` says otherwise."
        )
    )
    async def authors(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: AuthorFilter | None = None,
        order_by: AuthorOrder | None = None,
    ) -> AuthorSummaryConnection:
        return await author_page(
            info.context.sessions,
            info.context.principal.organization_id,
            filter,
            order_by,
            first=first,
            after=after,
        )
