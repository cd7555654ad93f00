"""The SQL that counts each author's analysed mentions and ranks authors by a figure.

Public to other domains: the dashboard's top authors rank with it over its window.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import BigInteger, Integer, and_, func, literal, union_all
from sqlalchemy import Select as CoreSelect
from sqlalchemy import cast as cast_
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
from libs.database.rollup_windows import day_split

Ranked = tuple[Select[*tuple[Any, ...]], Ordering]


_FIGURES = (
    "author_id",
    "mention_count",
    "negative_count",
    "reach",
    "engagement",
    "influence",
    "last_posted_at",
)


def author_figures(
    organization_id: uuid.UUID,
    *,
    since: datetime | None,
    until: datetime | None,
    watchlist_id: uuid.UUID | None,
    author_ids: Sequence[uuid.UUID] | None = None,
) -> Subquery:
    """Per author: the analysed mentions' volume, negatives, reach, engagement and influence.

    Without a watchlist they come from the rollups: all time from `author_rollup` (whose
    indexes rank the default list), a window from its whole UTC days in `author_day_rollup`
    plus the raw rows of the part-days at either end. A watchlist's are counted from the
    raw rows (the rollups keep no authors per watchlist). With `author_ids`, only those
    authors' figures (the candidates of a ranking, `gateway.authors.leaders`).
    """
    if watchlist_id is not None:
        return _summed(_raw(organization_id, since, until, watchlist_id, author_ids))
    if since is None and until is None:
        total = tables.AuthorRollup
        chosen = [col(total.organization_id) == organization_id]
        if author_ids is not None:
            chosen.append(col(total.author_id).in_(list(author_ids)))
        return (
            core_select(*(col(getattr(total, name)).label(name) for name in _FIGURES))
            .where(*chosen)
            .subquery("figures")
        )
    parts = day_split(since, until)
    edges = [
        _raw(organization_id, span.start, span.end, None, author_ids)
        for span in parts.raw
        if not span.empty
    ]
    if parts.days.empty:
        return _summed(*edges)
    day = tables.AuthorDayRollup
    days: CoreSelect[*tuple[Any, ...]] = core_select(
        *(col(getattr(day, name)).label(name) for name in _FIGURES)
    ).where(
        col(day.organization_id) == organization_id,
        col(day.day) >= parts.days.start.date(),
        col(day.day) < parts.days.end.date(),
    )
    if author_ids is not None:
        days = days.where(col(day.author_id).in_(list(author_ids)))
    return _summed(days, *edges)


def _raw(
    organization_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    watchlist_id: uuid.UUID | None,
    author_ids: Sequence[uuid.UUID] | None = None,
) -> CoreSelect[*tuple[Any, ...]]:
    """One row per analysed mention of an author in [since, until), shaped as the figures."""
    mention, analysis = tables.Mention, tables.MentionAnalysis
    where: list[ColumnElement[bool]] = [
        col(mention.organization_id) == organization_id,
        col(mention.author_id).is_not(None),
    ]
    if author_ids is not None:
        # Each author's mentions of the span through `ix_mention_author_posted`.
        where.append(col(mention.author_id).in_(list(author_ids)))
    # The analysis keeps its mention's `posted_at`: for every author, bounding both sides
    # lets PostgreSQL read each through its (organization, posted_at) index instead of every
    # analysis. For a few authors it must not: their mentions come through
    # `ix_mention_author_posted` and each analysis by its key, and with the analysis bounded
    # too, a span newer than the planner's statistics (today's, before the table is next
    # analysed) looked empty on both sides, and PostgreSQL joined them by scanning the
    # span's analyses once per mention (0.7 s at ten million).
    bound_analysis = author_ids is None
    if since is not None:
        where.append(col(mention.posted_at) >= since)
        if bound_analysis:
            where.append(col(analysis.posted_at) >= since)
    if until is not None:
        where.append(col(mention.posted_at) < until)
        if bound_analysis:
            where.append(col(analysis.posted_at) < until)
    if watchlist_id is not None:
        where.append(col(analysis.watchlist_ids).contains([watchlist_id]))
    else:
        # As the author rollups: a drill's (invented) authors count nowhere.
        where.append(col(mention.drill_id).is_(None))
    negative = col(analysis.sentiment) == Sentiment.NEGATIVE.value
    return (
        core_select(
            col(mention.author_id).label("author_id"),
            literal(1, BigInteger()).label("mention_count"),
            cast_(negative, Integer()).label("negative_count"),
            cast_(col(mention.views), BigInteger()).label("reach"),
            cast_(
                col(mention.reposts) + col(mention.comments) + col(mention.likes), BigInteger()
            ).label("engagement"),
            col(analysis.influence).label("influence"),
            col(mention.posted_at).label("last_posted_at"),
        )
        .select_from(mention)
        .join(
            analysis,
            and_(
                col(analysis.mention_id) == col(mention.id),
                col(analysis.organization_id) == organization_id,
            ),
        )
        .where(*where)
    )


def _summed(*parts: CoreSelect[*tuple[Any, ...]]) -> Subquery:
    """Sum the parts' rows per author (as bigint: a sum of bigint is numeric); maxima stay."""
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("counted")
    return (
        core_select(
            rows.c.author_id.label("author_id"),
            cast_(func.sum(rows.c.mention_count), BigInteger()).label("mention_count"),
            cast_(func.sum(rows.c.negative_count), BigInteger()).label("negative_count"),
            cast_(func.sum(rows.c.reach), BigInteger()).label("reach"),
            cast_(func.sum(rows.c.engagement), BigInteger()).label("engagement"),
            func.max(rows.c.influence).label("influence"),
            func.max(rows.c.last_posted_at).label("last_posted_at"),
        )
        .group_by(rows.c.author_id)
        .subquery("figures")
    )


_FIGURE_KEYS = {
    AuthorOrderField.MENTION_COUNT: "mention_count",
    AuthorOrderField.REACH: "reach",
    AuthorOrderField.ENGAGEMENT: "engagement",
    AuthorOrderField.INFLUENCE: "influence",
    AuthorOrderField.NEGATIVE_COUNT: "negative_count",
    AuthorOrderField.LAST_POSTED_AT: "last_posted_at",
}


def leading(figures: Subquery, field: AuthorOrderField, first: int) -> Subquery:
    """Keep the `first` authors of `figures` by `field`, most first, before authors are joined.

    PostgreSQL cannot tell how many authors a window's figures hold, so it would join every
    one of them to `author` before keeping the first few (95 k index lookups for 30 days of
    a million mentions). Followers are the author's own: those are ranked after the join.
    """
    name = _FIGURE_KEYS.get(field)
    if name is None:
        return figures
    return (
        core_select(figures)
        .order_by(figures.c[name].desc(), figures.c.author_id.desc())
        .limit(first)
        .subquery("leading")
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
