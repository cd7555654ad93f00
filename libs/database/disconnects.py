"""Which driver errors mean the connection itself is gone, whatever the server says.

After PostgreSQL crashes, asyncpg does not always say "connection is closed": a pooled
connection whose protocol a crash left failed answers every use with `InternalClientError`
("not connected", "protocol is in the \"failed\" state"), which SQLAlchemy's asyncpg
dialect neither counts as a disconnect nor gives a SQLSTATE. asyncpg raises that class only
from its own protocol machinery, for states a live, correctly used connection never reaches
(a codec gap would fail every test of the schema, not one request in an outage), so it
reads as a broken connection. Of `InterfaceError`, only "connection is closed" does — the
same words the dialect itself looks for; the rest (an operation already in progress, a bad
argument) are faults in the code.
"""

from collections.abc import Iterator

import asyncpg

_CLOSED = "connection is closed"


def is_broken_connection(exc: BaseException) -> bool:
    """Return whether `exc`, or the driver error under it, reports an unusable connection."""
    for candidate in _causes(exc):
        if isinstance(candidate, asyncpg.InternalClientError):
            return True
        if isinstance(candidate, asyncpg.InterfaceError) and _CLOSED in str(candidate):
            return True
    return False


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """Yield `exc` and what it wraps: SQLAlchemy's `orig`, then each `__cause__`."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        candidate = pending.pop()
        if candidate is None or id(candidate) in seen:
            continue
        seen.add(id(candidate))
        yield candidate
        pending.extend((getattr(candidate, "orig", None), candidate.__cause__))
