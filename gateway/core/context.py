"""The typed context every resolver receives: caller, database, queue and loaders.

An HTTP request's context is built for a principal already admitted. A WebSocket's context
lives as long as the connection: it starts signed out, `connection_init` signs it in, and
each operation it starts is admitted again (see `gateway.admission`).
"""

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.fastapi import BaseContext
from strawberry.types import Info as StrawberryInfo

from gateway.admission import Gate
from gateway.config import GatewaySettings
from gateway.core.reads import Loaders
from gateway.live_hub import LiveHub
from libs.auth.keys import Principal
from libs.messaging.connection import ArqRedis


class NotSignedInError(RuntimeError):
    """A resolver ran on a WebSocket before `connection_init` named a key."""


class GatewayContext(BaseContext):
    """One request's (or one WebSocket connection's) principal, resources and DataLoaders."""

    def __init__(
        self,
        *,
        principal: Principal | None,
        sessions: async_sessionmaker[AsyncSession],
        redis: ArqRedis,
        settings: GatewaySettings,
        gate: Gate | None = None,
        hub: LiveHub | None = None,
        websocket: bool = False,
        authorization: str | None = None,
        address: str | None = None,
    ) -> None:
        super().__init__()
        self.sessions = sessions
        self.redis = redis
        self.settings = settings
        self.gate = gate
        self.hub = hub
        self.websocket = websocket
        self.authorization = authorization
        self.address = address
        """The client's address, counted against its own budget."""
        self._principal = principal
        self._loaders = Loaders(sessions, principal.organization_id) if principal else None

    @property
    def principal(self) -> Principal:
        """The caller; a WebSocket has one once its `connection_init` was accepted."""
        if self._principal is None:
            raise NotSignedInError("the connection has not been initialised with a key")
        return self._principal

    @property
    def loaders(self) -> Loaders:
        """The DataLoaders for the caller's organization (`loaders.of(ROWS)`)."""
        if self._loaders is None:
            raise NotSignedInError("the connection has not been initialised with a key")
        return self._loaders

    def sign_in(self, principal: Principal, authorization: str) -> None:
        """Bind a WebSocket connection to the key its `connection_init` carried."""
        self._principal = principal
        self.authorization = authorization
        self._loaders = Loaders(self.sessions, principal.organization_id)

    async def admit(self) -> None:
        """Check a WebSocket's key again and count one operation against its budget."""
        if self.gate is None:
            raise NotSignedInError("the context has no gate to admit operations")
        admitted = await self.gate.admit(self.authorization, self.address)
        self._principal = admitted.principal

    async def recheck(self) -> None:
        """Raise AuthError when a long-lived connection's key was revoked meanwhile."""
        if self.gate is None:
            raise NotSignedInError("the context has no gate to check keys")
        await self.gate.identify(self.authorization)

    def fresh_loaders(self) -> Loaders:
        """Replace the loaders with empty ones and return them.

        A WebSocket's context outlives any one read: each operation it starts and each live
        delivery loads through new loaders, so it shows the rows as they are now rather than
        as an earlier read cached them. Operations running at once on one connection may
        share the newest loaders; all are scoped to the same organization.
        """
        self._loaders = Loaders(self.sessions, self.principal.organization_id)
        return self._loaders


Info = StrawberryInfo[GatewayContext, None]
