"""DataLoaders built once per request, so a page of results costs a fixed number of queries.

Every loader filters on the caller's organization: an id from another tenant loads as
missing, exactly like an id that does not exist. Each batch opens its own short session
because resolvers run concurrently and one session cannot serve two queries at once.
"""

import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from libs.database.tables import (
    Author,
    Incident,
    Mention,
    MentionAnalysis,
    ResponseTask,
    RiskSignal,
    TimelineEvent,
    Watchlist,
)

Row = TypeVar("Row", bound=SQLModel)
LoadFn = Callable[[list[uuid.UUID]], Awaitable[Sequence[Any]]]


class Loaders:
    """The loaders of one request, all scoped to `organization_id`."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> None:
        self._sessions = sessions
        self._organization_id = organization_id
        self.mentions: DataLoader[uuid.UUID, Mention | None] = self._by_id(
            Mention, col(Mention.id), col(Mention.organization_id)
        )
        self.authors: DataLoader[uuid.UUID, Author | None] = self._by_id(
            Author, col(Author.id), col(Author.organization_id)
        )
        self.analyses: DataLoader[uuid.UUID, MentionAnalysis | None] = self._by_id(
            MentionAnalysis, col(MentionAnalysis.mention_id), col(MentionAnalysis.organization_id)
        )
        self.watchlists: DataLoader[uuid.UUID, Watchlist | None] = self._by_id(
            Watchlist, col(Watchlist.id), col(Watchlist.organization_id)
        )
        self.incidents: DataLoader[uuid.UUID, Incident | None] = self._by_id(
            Incident, col(Incident.id), col(Incident.organization_id)
        )
        self.signals: DataLoader[uuid.UUID, RiskSignal | None] = self._by_id(
            RiskSignal, col(RiskSignal.id), col(RiskSignal.organization_id)
        )
        self.tasks: DataLoader[uuid.UUID, ResponseTask | None] = self._by_id(
            ResponseTask, col(ResponseTask.id), col(ResponseTask.organization_id)
        )
        self.events: DataLoader[uuid.UUID, TimelineEvent | None] = self._by_id(
            TimelineEvent, col(TimelineEvent.id), col(TimelineEvent.organization_id)
        )
        self.tasks_by_incident: DataLoader[uuid.UUID, list[ResponseTask]] = DataLoader(
            load_fn=self._tasks_by_incident
        )
        self.timeline_by_incident: DataLoader[uuid.UUID, list[TimelineEvent]] = DataLoader(
            load_fn=self._timeline_by_incident
        )

    def _by_id(
        self, table: type[Row], key: Any, organization: Any
    ) -> DataLoader[uuid.UUID, Row | None]:
        async def load(ids: list[uuid.UUID]) -> list[Row | None]:
            statement = select(table).where(key.in_(ids), organization == self._organization_id)
            async with self._sessions() as session:
                rows = (await session.exec(statement)).all()
            found = {getattr(row, key.key): row for row in rows}
            return [found.get(id_) for id_ in ids]

        return DataLoader(load_fn=load)

    async def _tasks_by_incident(self, ids: list[uuid.UUID]) -> list[list[ResponseTask]]:
        statement = (
            select(ResponseTask)
            .where(
                col(ResponseTask.incident_id).in_(ids),
                col(ResponseTask.organization_id) == self._organization_id,
            )
            .order_by(col(ResponseTask.position), col(ResponseTask.due_at), col(ResponseTask.id))
        )
        async with self._sessions() as session:
            rows = (await session.exec(statement)).all()
        grouped: dict[uuid.UUID, list[ResponseTask]] = defaultdict(list)
        for row in rows:
            grouped[row.incident_id].append(row)
        return [grouped[id_] for id_ in ids]

    async def _timeline_by_incident(self, ids: list[uuid.UUID]) -> list[list[TimelineEvent]]:
        statement = (
            select(TimelineEvent)
            .where(
                col(TimelineEvent.incident_id).in_(ids),
                col(TimelineEvent.organization_id) == self._organization_id,
            )
            .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
        )
        async with self._sessions() as session:
            rows = (await session.exec(statement)).all()
        grouped: dict[uuid.UUID, list[TimelineEvent]] = defaultdict(list)
        for row in rows:
            grouped[row.incident_id].append(row)
        return [grouped[id_] for id_ in ids]
