"""The SQL that counts each author's mentions and ranks authors by a figure.

Public to other domains: the dashboard's top authors rank with it over its window.
"""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, func
from sqlalchemy import select as core_select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import Subquery
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from gateway.authors.types import AuthorOrderField
from gateway.core.listing import OrderDirection
from gateway.core.pagination import Ordering
from libs.contracts.enums import Sentiment
from libs.database import tables

Ranked = tuple[Select[*tuple[Any, ...]], Ordering]


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


def ranked_authors(
    organization_id: uuid.UUID,
    figures: Subquery,
    where: list[ColumnElement[bool]],
    field: AuthorOrderField,
    direction: OrderDirection,
) -> Ranked:
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
