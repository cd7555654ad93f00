"""Telling a failure worth retrying from one retrying cannot fix, and how long to wait.

An outage of PostgreSQL or Redis shows up as many different errors: a dropped connection,
"the database system is starting up" (57P03), "terminating connection due to administrator
command" (57P01), "too many clients" (53300), any connection-class SQLSTATE (08xxx), besides
deadlocks and serialization failures that PostgreSQL itself asks to retry. asyncpg raises
most of them as ordinary statement errors, so the SQLSTATE decides; a connection a crash
left broken may carry none (`libs.database.disconnects`). All of them end when
the server is back, so a job that meets one waits and tries again, however long that takes;
everything else is a fault in the message or the code, and goes to the dead letters.
"""

import random

from sqlalchemy.exc import DBAPIError, OperationalError

from libs.database.disconnects import is_broken_connection

# SQLSTATEs that mean "the same statement will work later".
_RETRY_SQLSTATES = frozenset(
    {
        "40001",  # serialization failure
        "40P01",  # deadlock detected
        "55P03",  # lock not available
        "57P01",  # admin shutdown
        "57P02",  # crash shutdown
        "57P03",  # cannot connect now: starting up or shutting down
        "53300",  # too many connections
        "53400",  # configuration limit exceeded
    }
)
_RETRY_CLASSES = ("08",)  # connection exception

BACKOFF_BASE_SECONDS = 0.5
BACKOFF_CAP_SECONDS = 30.0


def sqlstate(exc: BaseException) -> str | None:
    """Return the SQLSTATE the driver reported under `exc`, if any."""
    for candidate in (exc, getattr(exc, "orig", None), getattr(exc, "__cause__", None)):
        state = getattr(candidate, "sqlstate", None)
        if isinstance(state, str):
            return state
        cause = getattr(candidate, "__cause__", None)
        state = getattr(cause, "sqlstate", None)
        if isinstance(state, str):
            return state
    return None


def is_transient(exc: BaseException) -> bool:
    """Return whether `exc` is an outage or a conflict that a later try can get past."""
    if isinstance(exc, (OSError, ConnectionError, TimeoutError)):
        return True
    if _is_redis_outage(exc) or is_broken_connection(exc):
        return True
    state = sqlstate(exc)
    if state is not None:
        return state in _RETRY_SQLSTATES or state.startswith(_RETRY_CLASSES)
    if isinstance(exc, DBAPIError):
        return bool(exc.connection_invalidated) or isinstance(exc, OperationalError)
    return False


def _is_redis_outage(exc: BaseException) -> bool:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    return isinstance(exc, (RedisConnectionError, RedisTimeoutError))


def backoff(tries: int, *, rng: random.Random | None = None) -> float:
    """Return seconds to wait before try `tries + 1`: capped exponential with full jitter.

    Jitter spreads the retries of many jobs that failed together (a whole queue during an
    outage), so they do not hit the recovering server at the same instant.
    """
    # The exponent is capped before it is raised: 2.0 ** 1024 does not fit a float.
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2.0 ** min(max(tries - 1, 0), 32))
    return (rng or random).uniform(ceiling / 2, ceiling)
