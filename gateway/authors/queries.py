"""The author list: authors with their figures, most mentions first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from gateway.authors.ranking import Ranked, author_figures, ranked_authors
from gateway.authors.types import (
    AuthorFilter,
    AuthorOrder,
    AuthorOrderField,
    AuthorSummary,
    AuthorSummaryConnection,
    AuthorSummaryEdge,
)
from gateway.core.context import Info
from gateway.core.inputs import as_utc, contains_pattern, optional_id
from gateway.core.listing import OrderDirection
from gateway.core.pagination import check_page_size, ordered, page_info, paged
from libs.database import tables


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
