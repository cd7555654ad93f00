"""Who is calling: bearer keys resolved to principals, cached briefly in-process.

A key lookup is one indexed query; caching the answer for half a minute saves it on almost
every request. A revocation is announced to every gateway process, which forgets the key at
once (`gateway.revocation`); a process that missed the announcement (Redis was away) still
drops the entry when its half minute is up, so that is the longest a revoked key can work.
"""

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.auth.keys import Principal, hash_key, parse_bearer, resolve


class AuthError(Exception):
    """No usable key (401), a key that may not use GraphQL (403), or over its rate (429)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.retry_after = retry_after
        self.headers = headers or {}


class PrincipalCache:
    """Resolved principals by key hash, each kept for `ttl` seconds, at most `max_entries`."""

    def __init__(
        self,
        ttl: float = 30.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, Principal]] = OrderedDict()

    def get(self, secret: str) -> Principal | None:
        """Return the cached principal for `secret` if it is still fresh."""
        key = hash_key(secret)
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires_at, principal = entry
        if expires_at <= self._clock():
            del self._entries[key]
            return None
        return principal

    def put(self, secret: str, principal: Principal) -> None:
        """Remember `principal` for `secret`, evicting the oldest entry when full."""
        key = hash_key(secret)
        self._entries[key] = (self._clock() + self._ttl, principal)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    def forget(self, key_id: uuid.UUID) -> None:
        """Drop every cached entry of a key, so its next use is checked in the database."""
        stale = [hashed for hashed, (_, held) in self._entries.items() if held.key_id == key_id]
        for hashed in stale:
            del self._entries[hashed]


async def authenticate(
    authorization: str | None,
    sessions: async_sessionmaker[AsyncSession],
    cache: PrincipalCache,
) -> Principal:
    """Return the principal of an `Authorization` header allowed to read, or raise AuthError."""
    secret = parse_bearer(authorization)
    if secret is None:
        raise AuthError(401, "UNAUTHENTICATED", "Send an API key as `Authorization: Bearer <key>`.")
    principal = cache.get(secret)
    if principal is None:
        async with sessions() as session:
            principal = await resolve(session, secret)
        if principal is None:
            raise AuthError(401, "UNAUTHENTICATED", "The API key is unknown or revoked.")
        cache.put(secret, principal)
    if not principal.can_read():
        raise AuthError(
            403,
            "FORBIDDEN",
            f"A key with role `{principal.role.value}` cannot use the GraphQL API.",
        )
    return principal
