"""The author list: authors with their figures, most mentions first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from strawberry import relay

from gateway.authors.ranking import Ranked, author_figures, ranked_authors
from gateway.authors.types import (
    AuthorOrder,
    AuthorOrderField,
    AuthorSummary,
    AuthorSummaryConnection,
    AuthorSummaryEdge,
)
from gateway.core.context import Info
from gateway.core.enums import AuthorKind, Source
from gateway.core.inputs import as_utc, contains_pattern, optional_id
from gateway.core.listing import OrderDirection
from gateway.core.pagination import check_page_size, ordered, page_info, paged
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


def _authors(info: Info, filter: AuthorFilter | None, order: AuthorOrder | None) -> Ranked:
    """Select (author, figures…, sort key) for the authors the filter keeps."""
    chosen = filter or AuthorFilter()
    field, direction = (
        (order.field, order.direction)
        if order is not None
        else (AuthorOrderField.MENTION_COUNT, OrderDirection.DESC)
    )
    organization_id = info.context.principal.organization_id
    figures = author_figures(
        organization_id,
        since=as_utc(chosen.since) if chosen.since else None,
        until=as_utc(chosen.until) if chosen.until else None,
        watchlist_id=optional_id(chosen.watchlist_id, "Watchlist", "filter.watchlistId"),
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
        first: int | None = 20,
        after: str | None = None,
        filter: AuthorFilter | None = None,
        order_by: AuthorOrder | None = None,
    ) -> AuthorSummaryConnection:
        statement, ordering = _authors(info, filter, order_by)
        size = check_page_size(first)
        statement = ordered(
            statement,
            kind="author",
            ordering=ordering,
            id_column=col(tables.Author.id),
            first=size,
            after=after,
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        page = paged(
            "author",
            ordering,
            "database_id",
            [(AuthorSummary.from_row(row), row[-1]) for row in rows],
            size,
        )
        return AuthorSummaryConnection(
            page_info=page_info(page, after),
            edges=[AuthorSummaryEdge(cursor=cursor, node=node) for cursor, node in page.rows],
        )
