"""The mention list and a mention by id; a page reads its authors and analyses with it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import Select, and_, func
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from strawberry import relay

from gateway.core.context import Info
from gateway.core.inputs import local_id, require_id
from gateway.core.listing import (
    Key,
    ListSpec,
    OrderDirection,
    Scope,
    Where,
    at_least,
    before,
    contains,
    equal,
    is_,
    names,
    present,
    since,
)
from gateway.core.pagination import Preload
from gateway.core.selection import node_fields
from gateway.mentions.loaders import ANALYSES, AUTHORS
from gateway.mentions.types import Analysis, Author, Mention, MentionFilter
from libs.database import tables

mention, analysis = tables.Mention, tables.MentionAnalysis


def _with_analysis(statement: Select[Any], scope: Scope) -> Select[Any]:
    return statement.outerjoin(
        analysis,
        and_(
            col(analysis.mention_id) == col(mention.id),
            col(analysis.organization_id) == scope.organization_id,
        ),
    )


MENTION_LIST = ListSpec(
    "Mention",
    kind="mention",
    table=mention,
    node=Mention,
    keys={
        "POSTED_AT": Key(col(mention.posted_at), datetime),
        "INGESTED_AT": Key(col(mention.ingested_at), datetime),
        "INFLUENCE": Key(func.coalesce(col(analysis.influence), 0.0), float, joined=True),
        "ENGAGEMENT": Key(col(mention.reposts) + col(mention.comments) + col(mention.likes), int),
        "VIEWS": Key(col(mention.views), int),
    },
    direction=OrderDirection.DESC,
    filter=MentionFilter,
    where={
        "sentiment": equal(col(analysis.sentiment), joined=True),
        "source": equal(col(mention.source)),
        "watchlist_id": Where(
            lambda value, scope, field: col(analysis.watchlist_ids).contains(
                [require_id(value, "Watchlist", field)]
            ),
            joined=True,
        ),
        "since": since(col(mention.posted_at)),
        "until": before(col(mention.posted_at)),
        "story_id": names(col(analysis.story_id), "Story", joined=True),
        "author_database_id": equal(col(mention.author_id)),
        "crisis_type": equal(col(analysis.crisis_type), joined=True),
        "min_influence": at_least(col(analysis.influence), joined=True),
        "amplifier": is_(col(analysis.amplifier), joined=True),
        "analyzed": present(col(analysis.mention_id), joined=True),
        "text_contains": contains(col(mention.text)),
    },
    join=_with_analysis,
    noun="a mention list",
    description=(
        "Sort mentions: `INFLUENCE` is analysis's reach estimate (0 until analysed), "
        "`ENGAGEMENT` reposts + comments + likes."
    ),
)


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
