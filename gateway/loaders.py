"""DataLoaders built once per request, so a page of results costs a fixed number of queries.

Every loader filters on the caller's organization: an id from another tenant loads as
missing, exactly like an id that does not exist. Each batch opens its own short session
because resolvers run concurrently and one session cannot serve two queries at once. Rows
come back as plain column rows rather than ORM objects (see `gateway.grouped_loaders`).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func
from sqlalchemy import select as core_select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.grouped_loaders import ById, Children, rows_by_id
from gateway.response_loaders import ResponseLoaders
from gateway.webhook_loaders import WebhookLoaders
from libs.database.tables import (
    Author,
    Incident,
    Mention,
    MentionAnalysis,
    ResponseTask,
    RiskSignal,
    Story,
    TimelineEvent,
    Watchlist,
)


@dataclass(frozen=True)
class AmplifierRow:
    """An author who amplified a story: their highest influence and their earliest mention."""

    author_id: uuid.UUID
    influence: float
    first_mention_id: uuid.UUID


@dataclass(frozen=True)
class RepostRow:
    """A story member and the mention it was reposted from."""

    mention: Mention
    parent: Mention


# The reads a page can also make itself for all its nodes at once (see `gateway.schema.preload`).
AUTHORS = ById(Author, col(Author.id), col(Author.organization_id))
ANALYSES = ById(
    MentionAnalysis, col(MentionAnalysis.mention_id), col(MentionAnalysis.organization_id)
)
TASKS_BY_INCIDENT = Children(
    ResponseTask,
    col(ResponseTask.incident_id),
    col(ResponseTask.organization_id),
    order_by=(col(ResponseTask.position), col(ResponseTask.due_at), col(ResponseTask.id)),
)
TIMELINE_BY_INCIDENT = Children(
    TimelineEvent,
    col(TimelineEvent.incident_id),
    col(TimelineEvent.organization_id),
    order_by=(col(TimelineEvent.occurred_at), col(TimelineEvent.id)),
)


class Loaders:
    """The loaders of one request, all scoped to `organization_id`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> None:
        self._sessions = sessions
        self._organization_id = organization_id
        org = organization_id
        self.mentions: DataLoader[uuid.UUID, Mention | None] = rows_by_id(
            sessions, org, Mention, col(Mention.id), col(Mention.organization_id)
        )
        self.authors: DataLoader[uuid.UUID, Author | None] = AUTHORS.loader(sessions, org)
        self.analyses: DataLoader[uuid.UUID, MentionAnalysis | None] = ANALYSES.loader(
            sessions, org
        )
        self.watchlists: DataLoader[uuid.UUID, Watchlist | None] = rows_by_id(
            sessions, org, Watchlist, col(Watchlist.id), col(Watchlist.organization_id)
        )
        self.incidents: DataLoader[uuid.UUID, Incident | None] = rows_by_id(
            sessions, org, Incident, col(Incident.id), col(Incident.organization_id)
        )
        self.signals: DataLoader[uuid.UUID, RiskSignal | None] = rows_by_id(
            sessions, org, RiskSignal, col(RiskSignal.id), col(RiskSignal.organization_id)
        )
        self.stories: DataLoader[uuid.UUID, Story | None] = rows_by_id(
            sessions, org, Story, col(Story.id), col(Story.organization_id)
        )
        self.tasks: DataLoader[uuid.UUID, ResponseTask | None] = rows_by_id(
            sessions, org, ResponseTask, col(ResponseTask.id), col(ResponseTask.organization_id)
        )
        self.events: DataLoader[uuid.UUID, TimelineEvent | None] = rows_by_id(
            sessions, org, TimelineEvent, col(TimelineEvent.id), col(TimelineEvent.organization_id)
        )
        self.tasks_by_incident: DataLoader[uuid.UUID, list[ResponseTask]] = (
            TASKS_BY_INCIDENT.loader(sessions, org)
        )
        self.timeline_by_incident: DataLoader[uuid.UUID, list[TimelineEvent]] = (
            TIMELINE_BY_INCIDENT.loader(sessions, org)
        )
        self.amplifiers_by_story: DataLoader[uuid.UUID, list[AmplifierRow]] = DataLoader(
            load_fn=self._amplifiers_by_story
        )
        self.reposts_by_story: DataLoader[uuid.UUID, list[RepostRow]] = DataLoader(
            load_fn=self._reposts_by_story
        )
        self.response = ResponseLoaders(sessions, organization_id)
        self.webhooks = WebhookLoaders(sessions, organization_id)

    async def _amplifiers_by_story(self, ids: list[uuid.UUID]) -> list[list[AmplifierRow]]:
        # One pass over the stories' members: per (story, author) the window functions give
        # the highest influence, whether any of their mentions amplified, and their first post.
        analysis, mention = MentionAnalysis, Mention
        author = (col(analysis.story_id), col(mention.author_id))
        members = (
            # SQLAlchemy's own select: sqlmodel's overloads stop at four columns.
            core_select(
                col(analysis.story_id).label("story_id"),
                col(mention.author_id).label("author_id"),
                col(mention.id).label("mention_id"),
                col(mention.posted_at).label("posted_at"),
                func.max(col(analysis.influence)).over(partition_by=author).label("influence"),
                func.bool_or(col(analysis.amplifier)).over(partition_by=author).label("amplifies"),
                func.row_number()
                .over(partition_by=author, order_by=(col(mention.posted_at), col(mention.id)))
                .label("position"),
            )
            .join(mention, col(mention.id) == col(analysis.mention_id))
            .where(
                col(analysis.story_id).in_(ids),
                col(analysis.organization_id) == self._organization_id,
                col(mention.organization_id) == self._organization_id,
                col(mention.author_id).is_not(None),
            )
            .subquery()
        )
        statement = (
            select(
                members.c.story_id, members.c.author_id, members.c.influence, members.c.mention_id
            )
            .where(members.c.amplifies, members.c.position == 1)
            .order_by(members.c.influence.desc(), members.c.posted_at, members.c.author_id)
        )
        async with self._sessions() as session:
            rows = (await session.exec(statement)).all()
        grouped: dict[uuid.UUID, list[AmplifierRow]] = defaultdict(list)
        for story_id, author_id, influence, mention_id in rows:
            grouped[story_id].append(AmplifierRow(author_id, float(influence), mention_id))
        return [grouped[id_] for id_ in ids]

    async def _reposts_by_story(self, ids: list[uuid.UUID]) -> list[list[RepostRow]]:
        # Both ends come back with the links, so drawing a tree costs this one query; the
        # inner join on the parent drops links to posts that are not stored.
        analysis = MentionAnalysis
        child, parent = aliased(Mention), aliased(Mention)
        statement = (
            select(col(analysis.story_id), child, parent)
            .join(child, col(child.id) == col(analysis.mention_id))
            .join(parent, col(parent.id) == col(analysis.parent_mention_id))
            .where(
                col(analysis.story_id).in_(ids),
                col(analysis.organization_id) == self._organization_id,
                col(child.organization_id) == self._organization_id,
                col(parent.organization_id) == self._organization_id,
            )
            .order_by(col(child.posted_at), col(child.id))
        )
        async with self._sessions() as session:
            rows = (await session.exec(statement)).all()
        grouped: dict[uuid.UUID, list[RepostRow]] = defaultdict(list)
        for story_id, mention, parent_mention in rows:
            if story_id is not None:
                grouped[story_id].append(RepostRow(mention, parent_mention))
        return [grouped[id_] for id_ in ids]
