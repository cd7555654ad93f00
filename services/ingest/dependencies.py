"""What the routes ask FastAPI for: the process's resources and a read session."""

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.unanalysed import STORE_WITHIN
from libs.messaging.connection import ArqRedis
from libs.messaging.unit_of_work import Work, unit_of_work
from libs.quotas import MentionVolume, Quotas
from libs.ratelimit import Budgets, Limiter
from services.ingest.complaints.service import ContactKey

PRODUCER = "ingest"
RESOURCES = "resources"
"""The lifespan state entry that holds the `Resources`."""


@dataclass(frozen=True)
class Resources:
    """What the lifespan opens once per process and every request shares."""

    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    budgets: Budgets
    contact_key: ContactKey
    quotas: Quotas = field(default_factory=Quotas)

    @cached_property
    def limiter(self) -> Limiter:
        """The process's request limiter, counting in `redis` (built on first use)."""
        return Limiter(self.redis, self.budgets)

    @cached_property
    def volume(self) -> MentionVolume:
        """The organizations' mention quotas, counted in `redis` (built on first use)."""
        return MentionVolume(self.redis, self.quotas)

    def unit_of_work(self) -> AbstractAsyncContextManager[Work]:
        """Open a transaction whose messages ingest publishes once it commits."""
        return unit_of_work(self.sessions, self.redis, PRODUCER)

    def storing_unit_of_work(self) -> AbstractAsyncContextManager[Work]:
        """Open a transaction that stores mentions: refused rather than committed once it
        has lasted `STORE_WITHIN`, the bound the reads of unanalysed mentions rely on."""
        return unit_of_work(self.sessions, self.redis, PRODUCER, within=STORE_WITHIN)


def resources(request: Request) -> Resources:
    """Return the resources the lifespan opened."""
    held: Resources = getattr(request.state, RESOURCES)
    return held


ResourcesDep = Annotated[Resources, Depends(resources)]


async def read_session(held: ResourcesDep) -> AsyncIterator[AsyncSession]:
    """Yield a session for reads; it is closed when the request ends."""
    async with held.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(read_session)]
