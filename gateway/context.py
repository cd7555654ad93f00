"""The typed context every resolver receives: caller, database, queue and loaders."""

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from gateway.loaders import Loaders
from libs.auth.keys import Principal
from libs.settings import Settings


class GatewayContext(BaseContext):
    """One request's principal, resources and per-request DataLoaders."""

    def __init__(
        self,
        *,
        principal: Principal,
        sessions: async_sessionmaker[AsyncSession],
        redis: ArqRedis,
        settings: Settings,
    ) -> None:
        super().__init__()
        self.principal = principal
        self.sessions = sessions
        self.redis = redis
        self.settings = settings
        self.loaders = Loaders(sessions, principal.organization_id)


Info = StrawberryInfo[GatewayContext, None]
