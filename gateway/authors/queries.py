"""The author list: authors with their figures, most mentions first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import UTC, datetime, timedelta

import strawberry
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry import relay

from gateway.authors.leaders import leading_author_ids
from gateway.authors.ranking import Ranked, author_figures, ranked_authors
from gateway.authors.types import AuthorOrder, AuthorOrderField, AuthorSummary
from gateway.core.connection import Connection, connection_of, counted_list, exact_count_bound
from gateway.core.context import Info
from gateway.core.enums import AuthorKind, Source
from gateway.core.inputs import as_utc, contains_pattern, optional_id
from gateway.core.listing import OrderDirection
from gateway.core.pagination import PageRequest, checked_far_side, far_side, paged, window
from gateway.core.selection import page_info_fields
from libs.database import tables


@strawberry.input(
    description=(
        "Narrow an author list; every given condition must hold. `since`, `until` and "
        "`watchlistId` choose which mentions are counted: authors without one are left out."
    )
)
class AuthorFilter:
    source: Source | None = None
    kind: AuthorKind | None = None
    verified: bool | None = None
    min_followers: int | None = None
    handle_contains: str | None = strawberry.field(
        default=None, description="The handle contains this, ignoring case."
    )
    watchlist_id: relay.GlobalID | None = None
    since: datetime | None = strawberry.field(default=None, description="Posted at or after.")
    until: datetime | None = strawberry.field(default=None, description="Posted before.")


def _order(order: AuthorOrder | None) -> tuple[AuthorOrderField, OrderDirection]:
    if order is None:
        return AuthorOrderField.MENTION_COUNT, OrderDirection.DESC
    return order.field, order.direction


async def _first_page_leaders(
    session: AsyncSession,
    info: Info,
    filter: AuthorFilter | None,
    order: AuthorOrder | None,
    request: PageRequest,
) -> list[uuid.UUID] | None:
    """The authors a window's first page can hold (the page and one more), when each day's
    leaders prove them (`gateway.authors.leaders`); None when the whole window is summed."""
    chosen = filter or AuthorFilter()
    field, direction = _order(order)
    plain = AuthorFilter(since=chosen.since, until=chosen.until)
    if (
        chosen != plain
        or chosen.since is None
        or direction is not OrderDirection.DESC
        or request.backward
        or request.after is not None
        or request.before is not None
    ):
        return None
    # Open-ended: ingest stores no post more than a day ahead of its arrival.
    until = as_utc(chosen.until) if chosen.until else datetime.now(UTC) + timedelta(days=2)
    return await leading_author_ids(
        session,
        info.context.principal.organization_id,
        as_utc(chosen.since),
        until,
        field,
        request.size + 1,
    )


def _authors(
    info: Info,
    filter: AuthorFilter | None,
    order: AuthorOrder | None,
    leaders: list[uuid.UUID] | None = None,
) -> Ranked:
    """Select (author, figures…, sort key) for the authors the filter keeps (of `leaders`)."""
    chosen = filter or AuthorFilter()
    field, direction = _order(order)
    organization_id = info.context.principal.organization_id
    figures = author_figures(
        organization_id,
        since=as_utc(chosen.since) if chosen.since else None,
        until=as_utc(chosen.until) if chosen.until else None,
        watchlist_id=optional_id(chosen.watchlist_id, "Watchlist", "filter.watchlistId"),
        author_ids=leaders,
    )
    author = tables.Author
    where: list[ColumnElement[bool]] = []
    if chosen.source is not None:
        where.append(col(author.source) == chosen.source.value)
    if chosen.kind is not None:
        where.append(col(author.kind) == chosen.kind.value)
    if chosen.verified is not None:
        where.append(col(author.verified).is_(chosen.verified))
    if chosen.min_followers is not None:
        where.append(col(author.followers) >= chosen.min_followers)
    if chosen.handle_contains is not None:
        where.append(col(author.handle).ilike(contains_pattern(chosen.handle_contains)))
    return ranked_authors(organization_id, figures, where, field, direction)


@strawberry.type
class AuthorQuery:
    @strawberry.field(
        description=(
            "Authors with their volume, reach and influence among the mentions the filter "
            "counts, most mentions first unless `orderBy` says otherwise."
        )
    )
    async def authors(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        filter: AuthorFilter | None = None,
        order_by: AuthorOrder | None = None,
    ) -> Connection[AuthorSummary]:
        request = PageRequest.of(first, after, last, before)
        statement, ordering = _authors(info, filter, order_by)
        id_column = col(tables.Author.id)
        probe = far_side(
            statement, kind="author", ordering=ordering, id_column=id_column, request=request
        )
        wanted = "hasNextPage" if request.backward else "hasPreviousPage"
        async with info.context.sessions() as session:
            leaders = await _first_page_leaders(session, info, filter, order_by, request)
            # The page (and whether another follows) from the proven leaders alone; the
            # count, when asked, still covers every author of the window.
            paged_from = (
                statement if leaders is None else _authors(info, filter, order_by, leaders)[0]
            )
            cut = window(
                paged_from, kind="author", ordering=ordering, id_column=id_column, request=request
            )
            rows = (await session.exec(cut)).all()
            behind = None
            if probe is not None and wanted in page_info_fields(info):
                behind = (await session.execute(probe)).first() is not None
        summaries = [(AuthorSummary.from_row(row), row[-1]) for row in rows]
        page = paged("author", ordering, "database_id", summaries, request)
        if behind is not None:
            page = checked_far_side(page, request, behind)
        counted = counted_list(info.context.sessions, statement, exact_count_bound(info))
        return connection_of(page, list(page.rows), counted)
