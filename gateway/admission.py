"""Who may run an operation: the key check and the request budgets, for HTTP and WebSocket.

An HTTP request is admitted once, before its operation runs. A WebSocket connection is
admitted by its `connection_init` (counted like a request, and holding one of its key's
sockets) and then again for every operation it starts, so each subscription counts against
the budgets like a request, and a key revoked while the socket stays open stops starting
new operations; the revocation also closes the socket (`revoked`).

Budgets are counted in order: the client's address first, before the key is looked up, so
unknown keys are counted too; then the key and its organization (`libs.ratelimit`).
"""

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.auth import AuthError, PrincipalCache, authenticate
from gateway.open_sockets import OpenSockets
from libs.auth.keys import Principal
from libs.messaging.connection import ArqRedis
from libs.ratelimit import Limiter, Verdict


@dataclass(frozen=True)
class Admitted:
    """An admitted caller and the budget it is closest to spending (for the headers)."""

    principal: Principal
    verdict: Verdict


def rate_limited(verdict: Verdict) -> AuthError:
    """The refusal of a request over a budget: 429, what ran out and when to try again."""
    return AuthError(
        429,
        "RateLimited",
        verdict.explained,
        retry_after=verdict.retry_after,
        headers=verdict.headers(),
    )


@dataclass(frozen=True)
class Gate:
    """Checks keys against the database (through a short cache) and counts their use."""

    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    principals: PrincipalCache
    limiter: Limiter
    sockets: OpenSockets

    async def identify(self, authorization: str | None) -> Principal:
        """Return the principal of a bearer `authorization`, or raise AuthError."""
        return await authenticate(authorization, self.sessions, self.principals)

    async def admit(self, authorization: str | None, address: str | None) -> Admitted:
        """Count one operation from `address`, identify its key and count it against the key
        and its organization; raise AuthError (401, 403 or 429) when refused."""
        tally = self.limiter.tally()
        if not await tally.address(address):
            raise rate_limited(await tally.verdict())
        principal = await self.identify(authorization)
        await tally.key(principal.key_id, principal.organization_id)
        verdict = await tally.verdict()
        if not verdict.allowed:
            raise rate_limited(verdict)
        return Admitted(principal, verdict)

    async def revoked(self, key_id: uuid.UUID) -> None:
        """Stop accepting a revoked key in this process: forget it and close its sockets."""
        self.principals.forget(key_id)
        await self.sockets.close_all(key_id)
