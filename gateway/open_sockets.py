"""The WebSockets this gateway process holds open, by key: a cap per key, and closing them.

A socket counts from its accepted `connection_init` until it closes. A key may hold at most
`per_key` sockets on one process (a console needs a handful; each socket may carry 25
operations), so one key cannot tie up a process's connections and live feeds. When a key is
revoked its sockets here are closed at once, whatever their subscriptions are doing.

The count is per process, like the sockets themselves: behind N gateway processes a key may
hold up to N times the cap.
"""

import contextlib
import logging
import uuid
from collections import defaultdict
from typing import Protocol

log = logging.getLogger(__name__)

# graphql-transport-ws: the server refuses the connection (Forbidden).
CLOSE_REVOKED = 4403
REVOKED_REASON = "The API key was revoked."


class Closable(Protocol):
    """A server-side WebSocket: Starlette's, as the gateway holds it."""

    async def close(self, code: int = ..., reason: str | None = ...) -> None: ...


class OpenSockets:
    """Open sockets per key in this process; `per_key` of 0 or less means no cap."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._by_key: defaultdict[uuid.UUID, set[Closable]] = defaultdict(set)

    def count(self, key_id: uuid.UUID) -> int:
        """Return how many sockets the key holds open here."""
        return len(self._by_key.get(key_id, ()))

    def hold(self, key_id: uuid.UUID, socket: Closable) -> bool:
        """Count `socket` against its key; False (not counted) when the key is at its cap."""
        held = self._by_key[key_id]
        if 0 < self.per_key <= len(held) and socket not in held:
            return False
        held.add(socket)
        return True

    def release(self, socket: Closable) -> None:
        """Stop counting a socket that closed (a no-op for one never held)."""
        for key_id, held in list(self._by_key.items()):
            held.discard(socket)
            if not held:
                del self._by_key[key_id]

    async def close_all(self, key_id: uuid.UUID) -> int:
        """Close every socket of a revoked key; return how many were open."""
        sockets = self._by_key.pop(key_id, set())
        for socket in sockets:
            # A socket the client closed meanwhile refuses a second close; nothing is lost.
            with contextlib.suppress(RuntimeError, OSError):
                await socket.close(code=CLOSE_REVOKED, reason=REVOKED_REASON)
        if sockets:
            log.info("closed %d sockets of revoked key %s", len(sockets), key_id)
        return len(sockets)
