"""Authors with what they posted: who drives the conversation, by volume, reach or influence.

Counts come from the author's mentions that match the filter's window and watchlist; an
author none of whose mentions match is not listed. Reach is the views their mentions
report, engagement their reposts + comments + likes, influence the highest analysis gave
one of their mentions (0 while none is analysed).
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, Self, cast

import strawberry
from sqlalchemy import and_, func
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select
from strawberry import relay

from gateway.schema.enums import AuthorKind, Sentiment, Source
from gateway.schema.filters import AuthorFilter, as_utc, contains_pattern, require_id
from gateway.schema.ordering import OrderDirection
from gateway.schema.pagination import Ordering, check_page_size, ordered, page_info, paged
from libs.database import tables


@strawberry.enum(description="What an author list can be sorted by.")
class AuthorOrderField(Enum):
    MENTION_COUNT = "mention_count"
    REACH = "reach"
    ENGAGEMENT = "engagement"
    INFLUENCE = "influence"
    NEGATIVE_COUNT = "negative_count"
    FOLLOWERS = "followers"
    LAST_POSTED_AT = "last_posted_at"


@strawberry.input(description="Sort authors.")
class AuthorOrder:
    field: AuthorOrderField
    direction: OrderDirection = OrderDirection.DESC


@strawberry.type(description="An author and what they posted among the mentions counted.")
class AuthorSummary:
    database_id: uuid.UUID = strawberry.field(
        description="The author's id; `mentions(filter: {authorDatabaseId})` lists their posts."
    )
    source: Source
    handle: str
    followers: int
    verified: bool
    kind: AuthorKind
    mention_count: int
    negative_count: int = strawberry.field(description="Mentions analysis judged negative.")
    reach: int = strawberry.field(description="Views the counted mentions report, summed.")
    engagement: int = strawberry.field(description="Reposts, comments and likes, summed.")
    influence: float = strawberry.field(
        description="The highest influence analysis gave one of the counted mentions."
    )
    last_posted_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """Build from a row of `author_statement`: the author, its figures, the sort key."""
        author: tables.Author = row[0]
        return cls(
            database_id=author.id,
            source=Source(author.source),
            handle=author.handle,
            followers=author.followers,
            verified=author.verified,
            kind=AuthorKind(author.kind),
            mention_count=int(row.mention_count),
            negative_count=int(row.negative_count),
            reach=int(row.reach),
            engagement=int(row.engagement),
            influence=float(row.influence),
            last_posted_at=row.last_posted_at,
        )


@strawberry.type(description="An edge to an author summary.")
class AuthorSummaryEdge:
    cursor: str
    node: AuthorSummary


@strawberry.type(description="A page of author summaries.")
class AuthorSummaryConnection:
    page_info: relay.PageInfo
    edges: list[AuthorSummaryEdge]


def author_figures(
    organization_id: uuid.UUID,
    *,
    since: datetime | None,
    until: datetime | None,
    watchlist_id: uuid.UUID | None,
) -> Subquery:
    """Per author: the counted mentions' volume, negatives, reach, engagement and influence."""
    mention, analysis = tables.Mention, tables.MentionAnalysis
    where: list[ColumnElement[bool]] = [
        col(mention.organization_id) == organization_id,
        col(mention.author_id).is_not(None),
    ]
    if since is not None:
        where.append(col(mention.posted_at) >= since)
    if until is not None:
        where.append(col(mention.posted_at) < until)
    if watchlist_id is not None:
        where.append(col(analysis.watchlist_ids).contains([watchlist_id]))
    negative = col(analysis.sentiment) == Sentiment.NEGATIVE.value
    return (
        core_select(
            col(mention.author_id).label("author_id"),
            func.count().label("mention_count"),
            func.count().filter(negative).label("negative_count"),
            func.coalesce(func.sum(col(mention.views)), 0).label("reach"),
            func.coalesce(
                func.sum(col(mention.reposts) + col(mention.comments) + col(mention.likes)), 0
            ).label("engagement"),
            func.coalesce(func.max(col(analysis.influence)), 0.0).label("influence"),
            func.max(col(mention.posted_at)).label("last_posted_at"),
        )
        .select_from(mention)
        .outerjoin(
            analysis,
            and_(
                col(analysis.mention_id) == col(mention.id),
                col(analysis.organization_id) == organization_id,
            ),
        )
        .where(*where)
        .group_by(col(mention.author_id))
        .subquery("figures")
    )


def author_statement(
    organization_id: uuid.UUID,
    filter: AuthorFilter | None,
    field: AuthorOrderField,
    direction: OrderDirection,
) -> tuple[Select[*tuple[Any, ...]], Ordering]:
    """Select (author, figures…, sort key) for the authors the filter keeps."""
    author = tables.Author
    watchlist_id = None
    if filter is not None and filter.watchlist_id is not None:
        watchlist_id = require_id(filter.watchlist_id, "Watchlist", "filter.watchlistId")
    figures = author_figures(
        organization_id,
        since=as_utc(filter.since) if filter is not None and filter.since else None,
        until=as_utc(filter.until) if filter is not None and filter.until else None,
        watchlist_id=watchlist_id,
    )
    where: list[ColumnElement[bool]] = []
    if filter is not None:
        if filter.source is not None:
            where.append(col(author.source) == filter.source.value)
        if filter.kind is not None:
            where.append(col(author.kind) == filter.kind.value)
        if filter.verified is not None:
            where.append(col(author.verified).is_(filter.verified))
        if filter.min_followers is not None:
            where.append(col(author.followers) >= filter.min_followers)
        if filter.handle_contains is not None:
            where.append(col(author.handle).ilike(contains_pattern(filter.handle_contains)))
    return ranked_authors(organization_id, figures, where, field, direction)


def ranked_authors(
    organization_id: uuid.UUID,
    figures: Subquery,
    where: list[ColumnElement[bool]],
    field: AuthorOrderField,
    direction: OrderDirection,
) -> tuple[Select[*tuple[Any, ...]], Ordering]:
    """Select (author, figures…, sort key) for authors with `figures` and meeting `where`."""
    author = tables.Author
    keys: dict[AuthorOrderField, tuple[Any, type]] = {
        AuthorOrderField.MENTION_COUNT: (figures.c.mention_count, int),
        AuthorOrderField.REACH: (figures.c.reach, int),
        AuthorOrderField.ENGAGEMENT: (figures.c.engagement, int),
        AuthorOrderField.INFLUENCE: (figures.c.influence, float),
        AuthorOrderField.NEGATIVE_COUNT: (figures.c.negative_count, int),
        AuthorOrderField.FOLLOWERS: (col(author.followers), int),
        AuthorOrderField.LAST_POSTED_AT: (figures.c.last_posted_at, datetime),
    }
    key, value_type = keys[field]
    ordering = Ordering(field.name, key, value_type, direction is OrderDirection.DESC)
    # sqlmodel types `add_columns` as SQLAlchemy's select; the object stays sqlmodel's.
    statement = cast(
        Select[*tuple[Any, ...]],
        select(author, figures.c.mention_count)
        .add_columns(
            figures.c.negative_count,
            figures.c.reach,
            figures.c.engagement,
            figures.c.influence,
            figures.c.last_posted_at,
            key,
        )
        .join(figures, figures.c.author_id == col(author.id))
        .where(col(author.organization_id) == organization_id, *where),
    )
    return statement, ordering


async def author_page(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    filter: AuthorFilter | None,
    order: AuthorOrder | None,
    *,
    first: int | None,
    after: str | None,
) -> AuthorSummaryConnection:
    """Fetch one page of author summaries in the chosen order, most mentions first by default."""
    field, direction = (
        (order.field, order.direction)
        if order is not None
        else (AuthorOrderField.MENTION_COUNT, OrderDirection.DESC)
    )
    statement, ordering = author_statement(organization_id, filter, field, direction)
    size = check_page_size(first)
    statement = ordered(
        statement,
        kind="author",
        ordering=ordering,
        id_column=col(tables.Author.id),
        first=size,
        after=after,
    )
    async with sessions() as session:
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
