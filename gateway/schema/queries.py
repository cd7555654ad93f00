"""Read fields: lists with keyset pagination and lookups by global id, all tenant-scoped.

`Query` gathers these core reads with the console's listings, dashboard and reply search.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.grouped_loaders import read_rows, reading
from gateway.schema import listings
from gateway.schema.dashboard import DashboardQuery
from gateway.schema.filters import (
    IncidentFilter,
    MentionFilter,
    StoryFilter,
    WatchlistFilter,
    require_id,
)
from gateway.schema.filters import as_utc as as_utc
from gateway.schema.filters import local_id as local_id
from gateway.schema.listing_queries import ListingQuery
from gateway.schema.ordering import IncidentOrder, MentionOrder, StoryOrder, WatchlistOrder
from gateway.schema.pagination import fetch_connection, sort
from gateway.schema.preload import incident_extras, mention_extras
from gateway.schema.reply_search import ReplySearchQuery
from gateway.schema.types import (
    Incident,
    Mention,
    SensitiveTerm,
    Story,
    Watchlist,
    load_story,
)
from libs.database import tables


@strawberry.type
class ReadQuery:
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

    @strawberry.field(description="Mentions, newest posted first unless `orderBy` says otherwise.")
    async def mentions(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: MentionFilter | None = None,
        order_by: MentionOrder | None = None,
    ) -> relay.Connection[Mention]:
        organization_id = info.context.principal.organization_id
        return await fetch_connection(
            info.context.sessions,
            listings.mentions(organization_id, filter, order_by),
            relay.Connection[Mention],
            Mention.from_row,
            kind="mention",
            id_column=col(tables.Mention.id),
            first=first,
            after=after,
            preload=mention_extras(info),
        )

    @strawberry.field(description="One mention by its global id; null if not in your organization.")
    async def mention(self, info: Info, id: relay.GlobalID) -> Mention | None:
        row_id = local_id(id, "Mention")
        if row_id is None:
            return None
        row = await info.context.loaders.mentions.load(row_id)
        return Mention.from_row(row) if row is not None else None

    @strawberry.field(
        description=(
            "Every watchlist of your organization, by name unless `orderBy` says otherwise; "
            "`watchlistsConnection` pages the same list."
        )
    )
    async def watchlists(
        self,
        info: Info,
        filter: WatchlistFilter | None = None,
        order_by: WatchlistOrder | None = None,
    ) -> list[Watchlist]:
        statement, ordering = listings.watchlists(
            info.context.principal.organization_id, filter, order_by
        )
        if order_by is None:
            statement = statement.order_by(col(tables.Watchlist.name))
        else:
            statement = sort(statement, ordering, col(tables.Watchlist.id))
        async with reading(info.context.sessions) as connection:
            rows = await read_rows(connection, statement)
        return [Watchlist.from_row(row) for row in rows]

    @strawberry.field(
        description="Incidents, most recently detected first unless `orderBy` says otherwise."
    )
    async def incidents(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        filter: IncidentFilter | None = None,
        order_by: IncidentOrder | None = None,
    ) -> relay.Connection[Incident]:
        return await fetch_connection(
            info.context.sessions,
            listings.incidents(info.context.principal.organization_id, filter, order_by),
            relay.Connection[Incident],
            Incident.from_row,
            kind="incident",
            id_column=col(tables.Incident.id),
            first=first,
            after=after,
            preload=incident_extras(info),
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
            "Stories (传播路径), the most recently active first unless `orderBy` says "
            "otherwise; with `watchlistId`, only stories with a mention that watchlist matched."
        )
    )
    async def stories(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        watchlist_id: relay.GlobalID | None = None,
        filter: StoryFilter | None = None,
        order_by: StoryOrder | None = None,
    ) -> relay.Connection[Story]:
        watched = None
        if watchlist_id is not None:
            watched = require_id(watchlist_id, "Watchlist", "watchlistId")
        return await fetch_connection(
            info.context.sessions,
            listings.stories(info.context.principal.organization_id, filter, order_by, watched),
            relay.Connection[Story],
            Story.from_row,
            kind="story",
            id_column=col(tables.Story.id),
            first=first,
            after=after,
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


@strawberry.type
class Query(ReadQuery, ListingQuery, DashboardQuery, ReplySearchQuery):
    pass
