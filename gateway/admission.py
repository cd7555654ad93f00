"""Who may run an operation: the key check and the per-key rate limit, for HTTP and WebSocket.

An HTTP request is admitted once, before its operation runs. A WebSocket connection is
signed in by its `connection_init` and then admitted again for every operation it starts,
so each subscription counts against the key's budget like a request, and a key revoked
while the socket stays open stops starting new operations.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.auth import AuthError, PrincipalCache, authenticate
from libs import ratelimit
from libs.auth.keys import Principal
from libs.messaging.connection import ArqRedis


@dataclass(frozen=True)
class Gate:
    """Checks keys against the database (through a short cache) and counts their use."""

    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    principals: PrincipalCache
    rate_limit_per_minute: int

    async def identify(self, authorization: str | None) -> Principal:
        """Return the principal of a bearer `authorization`, or raise AuthError."""
        return await authenticate(authorization, self.sessions, self.principals)

    async def admit(self, authorization: str | None) -> Principal:
        """Identify the key and count one operation against its budget."""
        principal = await self.identify(authorization)
        verdict = await ratelimit.hit(self.redis, principal.key_id, self.rate_limit_per_minute)
        if not verdict.allowed:
            detail = f"This key {verdict.explained}."
            raise AuthError(429, "RateLimited", detail, retry_after=verdict.retry_after)
        return principal
