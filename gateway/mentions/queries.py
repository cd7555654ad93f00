"""The mention list and a mention by id; a page reads its authors and analyses with it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Select, and_, func, literal
from sqlalchemy.dialects.postgresql import ARRAY, TEXT
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from strawberry import relay

from gateway.core.context import Info
from gateway.core.enums import CrisisType, Sentiment, Source
from gateway.core.filters import (
    Scope,
    at_least,
    at_or_after,
    before,
    condition,
    equals,
    flag,
    names,
)
from gateway.core.inputs import contains_pattern, local_id, require_id
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.core.pagination import Preload
from gateway.core.selection import node_fields
from gateway.mentions.loaders import ANALYSES, AUTHORS
from gateway.mentions.types import Analysis, Author, Mention
from libs.database import tables
from libs.database.unanalysed import may_be_unanalysed

mention, analysis = tables.Mention, tables.MentionAnalysis


def _with_analysis(statement: Select[Any], scope: Scope) -> Select[Any]:
    return statement.outerjoin(
        analysis,
        and_(
            col(analysis.mention_id) == col(mention.id),
            col(analysis.organization_id) == scope.organization_id,
        ),
    )


def _watched_by(value: Any, scope: Scope, field: str) -> ColumnElement[bool]:
    """Analysis matched the mention to the watchlist named by `value`."""
    return col(analysis.watchlist_ids).contains([require_id(value, "Watchlist", field)])


def _waiting(scope: Scope) -> ColumnElement[bool]:
    """The mention may still be waiting for analysis: found through indexes, not by a search
    of every mention for a missing analysis (`libs.database.unanalysed`)."""
    return may_be_unanalysed(mention.id, scope.organization_id)


def _analysed(value: bool, scope: Scope, _: str) -> ColumnElement[bool]:
    """The mention has an analysis (true), or has none yet (false)."""
    if value:
        return col(analysis.mention_id).is_not(None)
    return and_(col(analysis.mention_id).is_(None), _waiting(scope))


def text_contains_condition(value: str, _: Scope, __: str) -> ColumnElement[bool]:
    """The text contains `value`, ignoring case, found through the text's bigram index.

    `ILIKE '%…%'` alone reads every mention of the organization. Every two-character piece
    of `value` must be among the text's (`text_bigrams`, a GIN index, migration 0010), which
    the index answers; ILIKE then checks the few candidates. A single character has no
    bigram, so it is searched by ILIKE alone.
    """
    found = col(mention.text).ilike(contains_pattern(value))
    if len(value) < 2:
        return found
    pieces = func.text_bigrams(col(mention.text), type_=ARRAY(TEXT))
    return and_(
        pieces.contains(func.text_bigrams(literal(value, TEXT()), type_=ARRAY(TEXT))), found
    )


@strawberry.input(description="Narrow a mention list; every given condition must hold.")
class MentionFilter:
    sentiment: Sentiment | None = equals(analysis.sentiment, joined=True)
    source: Source | None = equals(mention.source)
    watchlist_id: relay.GlobalID | None = condition(
        _watched_by, "A watchlist's global id: mentions analysis matched to it.", joined=True
    )
    since: datetime | None = at_or_after(
        mention.posted_at, "Posted at or after; a time without an offset is UTC."
    )
    until: datetime | None = before(
        mention.posted_at, "Posted before; a time without an offset is UTC."
    )
    story_id: relay.GlobalID | None = names(
        analysis.story_id, "Story", "A story's global id: only its members.", joined=True
    )
    author_database_id: uuid.UUID | None = equals(
        mention.author_id, "Only this author's mentions (the author's `databaseId`)."
    )
    crisis_type: CrisisType | None = equals(analysis.crisis_type, joined=True)
    min_influence: float | None = at_least(
        analysis.influence, "Analysis's influence at least this.", joined=True
    )
    amplifier: bool | None = flag(
        analysis.amplifier,
        "Whether analysis marked the mention as amplifying (大V、媒体).",
        joined=True,
    )
    analyzed: bool | None = condition(
        _analysed, "true: analysed mentions only; false: those still waiting.", joined=True
    )
    text_contains: str | None = condition(
        text_contains_condition, "The text contains this, ignoring case."
    )


MENTION_ORDER = Sorting(
    "Sort mentions: `INFLUENCE` is analysis's reach estimate (0 until analysed), "
    "`ENGAGEMENT` reposts + comments + likes.",
    POSTED_AT=Key.time(mention.posted_at),
    INGESTED_AT=Key.time(mention.ingested_at),
    # Analysed mentions through ix_mention_analysis_org_influence, the others at 0 by id.
    INFLUENCE=Key.outer_joined(analysis.influence, analysis.mention_id, 0.0, among=_waiting),
    ENGAGEMENT=Key(col(mention.reposts) + col(mention.comments) + col(mention.likes), int),
    VIEWS=Key(col(mention.views), int),
)
MENTION_LIST = ListSpec(Mention, MentionFilter, MENTION_ORDER, join=_with_analysis)


def mention_extras(info: Info) -> Preload[Mention] | None:
    """Return what reads the authors and analyses a mentions page will show, if any."""
    wanted = node_fields(info)
    with_author, with_analysis = "author" in wanted, "analysis" in wanted
    if not (with_author or with_analysis):
        return None
    organization_id = info.context.principal.organization_id

    async def preload(connection: AsyncConnection, mentions: list[Mention]) -> None:
        if with_author:
            author_ids = {m.author_id for m in mentions if m.author_id is not None}
            rows = await AUTHORS.fetch(connection, organization_id, author_ids)
            authors: dict[uuid.UUID | None, Author] = {
                id_: Author.from_row(row) for id_, row in rows.items()
            }
            for node in mentions:
                node.known_author = authors.get(node.author_id)
        if with_analysis:
            analyses = await ANALYSES.fetch(connection, organization_id, [m.id for m in mentions])
            for node in mentions:
                found = analyses.get(node.id)
                node.known_analysis = Analysis.from_row(found) if found is not None else None

    return preload


@strawberry.type
class MentionQuery:
    mentions = MENTION_LIST.connection_field(
        "Mentions, newest posted first unless `orderBy` says otherwise.", preload=mention_extras
    )

    @strawberry.field(description="One mention by its global id; null if not in your organization.")
    async def mention(self, info: Info, id: relay.GlobalID) -> Mention | None:
        return await Mention.load(info, local_id(id, "Mention"))
