"""Automatic persisted queries: documents kept by their SHA-256, in Redis and in memory.

Redis shares what one gateway learnt with every other, so a console's second request may
reach any replica. Each process also keeps the most recent documents in memory: a hit
there costs no round trip, and while Redis is away the process still knows what it saw.
A document is kept only after it ran without a request error, so a client cannot fill the
store with text that is not even GraphQL; the TTL forgets what no console sends any more.
"""

import hashlib
import logging
from collections import OrderedDict

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

KEY_PREFIX = "crisiswatch:apq:"
TTL_SECONDS = 7 * 24 * 3600
MEMORY_ENTRIES = 2000
# A console's largest document is a few KB; anything much larger runs but is not kept.
MAX_DOCUMENT_BYTES = 32 * 1024


def sha256_hex(document: str) -> str:
    """The hash clients send for `document`: SHA-256 of its UTF-8 text, in lower-case hex."""
    return hashlib.sha256(document.encode()).hexdigest()


class AutomaticStore:
    """Documents by hash: in this process's memory first, then in Redis."""

    def __init__(self, entries: int = MEMORY_ENTRIES) -> None:
        self._entries = entries
        self._memory: OrderedDict[str, str] = OrderedDict()

    async def get(self, redis: Redis, digest: str) -> str | None:
        """Return the document stored under `digest`, or None when nobody sent it lately."""
        document = self._memory.get(digest)
        if document is not None:
            self._memory.move_to_end(digest)
            return document
        try:
            stored = await redis.get(KEY_PREFIX + digest)
        except (RedisError, OSError) as exc:
            log.warning("persisted queries from this process only: Redis is unreachable (%s)", exc)
            return None
        if stored is None:
            return None
        document = stored.decode() if isinstance(stored, bytes) else str(stored)
        # A value in Redis is trusted only as far as it hashes to its key.
        if sha256_hex(document) != digest:
            return None
        self._remember(digest, document)
        return document

    async def put(self, redis: Redis, digest: str, document: str) -> None:
        """Keep `document` under `digest` (its hash, checked by the caller)."""
        if len(document.encode()) > MAX_DOCUMENT_BYTES:
            return
        self._remember(digest, document)
        try:
            await redis.set(KEY_PREFIX + digest, document, ex=TTL_SECONDS)
        except (RedisError, OSError) as exc:
            log.warning("persisted query kept in this process only: Redis is unreachable (%s)", exc)

    def _remember(self, digest: str, document: str) -> None:
        self._memory[digest] = document
        self._memory.move_to_end(digest)
        while len(self._memory) > self._entries:
            self._memory.popitem(last=False)
