"""Read fields: lists with keyset pagination and lookups by global id, all tenant-scoped."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import UTC, datetime

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.schema.enums import IncidentStatus, Sentiment, Source, Tier
from gateway.schema.errors import GatewayError
from gateway.schema.nodes import parse_uuid
from gateway.schema.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_info
from gateway.schema.types import (
    Incident,
    Mention,
    SensitiveTerm,
    Story,
    Watchlist,
    load_story,
)
from libs.database import tables


@strawberry.input(description="Narrow a mention list; every given condition must hold.")
class MentionFilter:
    sentiment: Sentiment | None = None
    source: Source | None = None
    watchlist_id: relay.GlobalID | None = strawberry.field(
        default=None, description="A watchlist's global id: mentions analysis matched to it."
    )
    since: datetime | None = strawberry.field(
        default=None, description="Posted at or after; a time without an offset is UTC."
    )
    until: datetime | None = strawberry.field(
        default=None, description="Posted before; a time without an offset is UTC."
    )


@strawberry.input(description="Narrow an incident list; every given condition must hold.")
class IncidentFilter:
    status: IncidentStatus | None = None
    tier: Tier | None = None


def as_utc(moment: datetime) -> datetime:
    """Read a time without an offset as UTC, never as the server's local time."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def local_id(global_id: relay.GlobalID, type_name: str) -> uuid.UUID | None:
    """Return the row id inside a global id of `type_name`, or None for any other id."""
    if global_id.type_name != type_name:
        return None
    return parse_uuid(global_id.node_id)


@strawberry.type
class Query:
    # A plain resolver rather than `relay.node()`, whose field object can serve one schema only.
    @strawberry.field(description="Fetch any object by its global id; null if not yours.")
    async def node(self, info: Info, id: relay.GlobalID) -> relay.Node | None:
        try:
            node_type = id.resolve_type(info)
        except relay.GlobalIDValueError:
            return None
        if not issubclass(node_type, relay.Node):
            return None
        found: relay.Node | None = await id.resolve_node(info)
        return found

    @strawberry.field(description="Mentions, newest posted first.")
    async def mentions(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: MentionFilter | None = None,
    ) -> relay.Connection[Mention]:
        organization_id = info.context.principal.organization_id
        statement = select(tables.Mention).where(
            col(tables.Mention.organization_id) == organization_id
        )
        if filter is not None:
            if filter.source is not None:
                statement = statement.where(col(tables.Mention.source) == filter.source.value)
            if filter.since is not None:
                statement = statement.where(col(tables.Mention.posted_at) >= as_utc(filter.since))
            if filter.until is not None:
                statement = statement.where(col(tables.Mention.posted_at) < as_utc(filter.until))
            if filter.sentiment is not None or filter.watchlist_id is not None:
                analysis = tables.MentionAnalysis
                statement = statement.join(
                    analysis, col(analysis.mention_id) == col(tables.Mention.id)
                ).where(col(analysis.organization_id) == organization_id)
                if filter.sentiment is not None:
                    statement = statement.where(col(analysis.sentiment) == filter.sentiment.value)
                if filter.watchlist_id is not None:
                    watchlist_id = local_id(filter.watchlist_id, "Watchlist")
                    if watchlist_id is None:
                        raise GatewayError("`filter.watchlistId` must be a Watchlist id.")
                    statement = statement.where(
                        col(analysis.watchlist_ids).contains([watchlist_id])
                    )
        page = await fetch_page(
            info.context.sessions,
            statement,
            kind="mention",
            at_column=col(tables.Mention.posted_at),
            id_column=col(tables.Mention.id),
            first=DEFAULT_PAGE_SIZE if first is None else first,
            after=after,
        )
        return relay.Connection[Mention](
            page_info=page_info(page, after),
            edges=[
                relay.Edge(cursor=cursor, node=Mention.from_row(row)) for cursor, row in page.rows
            ],
        )

    @strawberry.field(description="One mention by its global id; null if not in your organization.")
    async def mention(self, info: Info, id: relay.GlobalID) -> Mention | None:
        row_id = local_id(id, "Mention")
        if row_id is None:
            return None
        row = await info.context.loaders.mentions.load(row_id)
        return Mention.from_row(row) if row is not None else None

    @strawberry.field(description="Every watchlist of your organization, by name.")
    async def watchlists(self, info: Info) -> list[Watchlist]:
        statement = (
            select(tables.Watchlist)
            .where(col(tables.Watchlist.organization_id) == info.context.principal.organization_id)
            .order_by(col(tables.Watchlist.name))
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        return [Watchlist.from_row(row) for row in rows]

    @strawberry.field(description="Incidents, most recently detected first.")
    async def incidents(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: IncidentFilter | None = None,
    ) -> relay.Connection[Incident]:
        statement = select(tables.Incident).where(
            col(tables.Incident.organization_id) == info.context.principal.organization_id
        )
        if filter is not None:
            if filter.status is not None:
                statement = statement.where(col(tables.Incident.status) == filter.status.value)
            if filter.tier is not None:
                statement = statement.where(col(tables.Incident.tier) == filter.tier.value)
        page = await fetch_page(
            info.context.sessions,
            statement,
            kind="incident",
            at_column=col(tables.Incident.detected_at),
            id_column=col(tables.Incident.id),
            first=DEFAULT_PAGE_SIZE if first is None else first,
            after=after,
        )
        return relay.Connection[Incident](
            page_info=page_info(page, after),
            edges=[
                relay.Edge(cursor=cursor, node=Incident.from_row(row)) for cursor, row in page.rows
            ],
        )

    @strawberry.field(
        description="One incident by its global id; null if not in your organization."
    )
    async def incident(self, info: Info, id: relay.GlobalID) -> Incident | None:
        row_id = local_id(id, "Incident")
        if row_id is None:
            return None
        row = await info.context.loaders.incidents.load(row_id)
        return Incident.from_row(row) if row is not None else None

    @strawberry.field(description="One story by its global id; null if not in your organization.")
    async def story(self, info: Info, id: relay.GlobalID) -> Story | None:
        return await load_story(info, local_id(id, "Story"))

    @strawberry.field(
        description=(
            "Stories (传播路径), the most recently active first; with `watchlistId`, only "
            "stories with a mention that watchlist matched."
        )
    )
    async def stories(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        watchlist_id: relay.GlobalID | None = None,
    ) -> relay.Connection[Story]:
        organization_id = info.context.principal.organization_id
        story = tables.Story
        statement = select(story).where(col(story.organization_id) == organization_id)
        if watchlist_id is not None:
            watched = local_id(watchlist_id, "Watchlist")
            if watched is None:
                raise GatewayError("`watchlistId` must be a Watchlist id.")
            hit = tables.WatchlistHit
            statement = statement.where(
                select(hit.mention_id)
                .where(
                    col(hit.watchlist_id) == watched,
                    col(hit.organization_id) == organization_id,
                    col(hit.story_id) == col(story.id),
                )
                .exists()
            )
        page = await fetch_page(
            info.context.sessions,
            statement,
            kind="story",
            at_column=col(story.last_posted_at),
            id_column=col(story.id),
            first=DEFAULT_PAGE_SIZE if first is None else first,
            after=after,
        )
        return relay.Connection[Story](
            page_info=page_info(page, after),
            edges=[
                relay.Edge(cursor=cursor, node=Story.from_row(row)) for cursor, row in page.rows
            ],
        )

    @strawberry.field(
        description=(
            "Your organization's own changes to the sensitive-term lexicon (敏感词库), by term "
            "(code point order). "
            "The built-in default lexicon still applies on top of these for every term not "
            "listed; a weight of 0 disables a default term."
        )
    )
    async def sensitive_terms(self, info: Info) -> list[SensitiveTerm]:
        term = tables.SensitiveTerm
        statement = (
            select(term)
            .where(col(term.organization_id) == info.context.principal.organization_id)
            # Code point order, the same whatever the database's collation.
            .order_by(col(term.term).collate("C"))
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        return [SensitiveTerm.from_row(row) for row in rows]
