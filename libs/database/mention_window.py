"""Counts over an organization's mentions in a time window, shared by every reader of them.

The dashboard (gateway) and the daily risk check (incidents) both rank the terms mentions
carry; the SQL lives here once, beside the tables it reads, so the two never disagree on
what a term count is. Every query is scoped to one organization and a window
[since, until); with a watchlist, only mentions analysis matched to it count.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, and_, func, literal
from sqlalchemy import select as core_select
from sqlalchemy.dialects.postgresql import JSONB, TEXT
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Sentiment
from libs.database import tables

TERM_KINDS = ("keyword", "hashtag", "token", "sensitive")


@dataclass(frozen=True)
class Scope:
    """Whose figures, over which window, for which watchlist (None: all of them), and whether
    drills' incidents and mentions count (left out unless asked)."""

    organization_id: uuid.UUID
    since: datetime
    until: datetime
    watchlist_id: uuid.UUID | None = None
    include_drills: bool = False


async def rows(
    session: AsyncSession, statement: Select[*tuple[Any, ...]]
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Run a core select of plain values in the session's transaction."""
    connection = await session.connection()
    return (await connection.execute(statement)).all()


def mentions_in(scope: Scope) -> list[ColumnElement[bool]]:
    """Conditions on `mention` (and the joined analysis) for the scope: without a watchlist,
    drills' mentions only if the scope includes drills (the rollups' rule)."""
    mention, analysis = tables.Mention, tables.MentionAnalysis
    where = [
        col(mention.organization_id) == scope.organization_id,
        col(mention.posted_at) >= scope.since,
        col(mention.posted_at) < scope.until,
    ]
    if scope.watchlist_id is not None:
        where.append(col(analysis.watchlist_ids).contains([scope.watchlist_id]))
    elif not scope.include_drills:
        where.append(col(mention.drill_id).is_(None))
    return where


def analysis_of_mention(scope: Scope) -> ColumnElement[bool]:
    """Join condition of a mention's analysis, within the scope's organization."""
    analysis = tables.MentionAnalysis
    return and_(
        col(analysis.mention_id) == col(tables.Mention.id),
        col(analysis.organization_id) == scope.organization_id,
    )


@dataclass(frozen=True)
class TermRow:
    """A term and how many mentions in the window carry it, negative ones apart."""

    term: str
    mentions: int
    negative: int


async def top_terms(
    session: AsyncSession,
    scope: Scope,
    kind: str,
    first: int,
    *,
    only: Collection[str] | None = None,
) -> list[TermRow]:
    """Return the `first` terms of `kind` most mentions carry, most first, then by term.

    With `only`, just those terms are counted (the risk check compares a window's terms
    with the same terms a day earlier).
    """
    mention, analysis = tables.Mention, tables.MentionAnalysis
    source: Any
    if kind == "sensitive":
        hit = func.jsonb_array_elements(col(analysis.sensitive_hits), type_=JSONB)
        source = hit.op("->>", return_type=TEXT)(literal("term"))
    else:
        column = {
            "keyword": col(analysis.matched_keywords),
            "hashtag": col(analysis.hashtags),
            "token": col(analysis.tokens),
        }[kind]
        source = func.unnest(column, type_=TEXT)
    carried = (
        core_select(
            source.label("term"),
            col(analysis.mention_id).label("mention_id"),
            col(analysis.sentiment).label("sentiment"),
        )
        .select_from(mention)
        .join(analysis, analysis_of_mention(scope))
        .where(*mentions_in(scope))
        .subquery("carried")
    )
    mentions = func.count(carried.c.mention_id.distinct())
    negative = func.count(carried.c.mention_id.distinct()).filter(
        carried.c.sentiment == Sentiment.NEGATIVE.value
    )
    statement = core_select(carried.c.term, mentions, negative).where(
        carried.c.term.is_not(None), func.length(func.btrim(carried.c.term)) > 0
    )
    if kind == "token":
        # Single characters are mostly particles and punctuation (的, 了, ，).
        statement = statement.where(func.char_length(carried.c.term) >= 2)
    if only is not None:
        statement = statement.where(carried.c.term.in_(list(only)))
    statement = (
        statement.group_by(carried.c.term)
        .order_by(mentions.desc(), carried.c.term.collate("C"))
        .limit(first)
    )
    found = await rows(session, statement)
    return [TermRow(str(term), int(count), int(negative)) for term, count, negative in found]
