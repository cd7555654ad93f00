"""Async engine and the unit of work every entry point opens.

Service code takes an `AsyncSession` and never commits; the HTTP handler or queue job that
opened `transaction()` commits once, and only then publishes messages (see
`libs.messaging.publish`), so nothing is announced that could still roll back.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.disconnects import is_broken_connection
from libs.tracing.database import trace_statements

CONNECT_TIMEOUT_SECONDS = 10.0
# The SQLSTATE of a statement PostgreSQL cancelled, e.g. by `statement_timeout`.
QUERY_CANCELED = "57014"


def async_database_url(url: str) -> str:
    """Return `url` with the asyncpg driver, whatever driver (if any) it named."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {parsed.drivername!r}")
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


def sync_database_url(url: str) -> str:
    """Return `url` for the driver Alembic runs on (asyncpg too, through run_sync)."""
    return async_database_url(url)


def create_engine(
    url: str, *, pool_size: int = 10, statement_timeout_seconds: float = 0
) -> AsyncEngine:
    """Create an engine on asyncpg for `url`; it drops connections the driver reports broken.

    `statement_timeout_seconds` (0: none) is the process's `statement_timeout`: PostgreSQL
    cancels a statement that runs longer, so no caller can hold a pooled connection (and
    the pool with it) by asking for more work than its process is meant to do. The server
    answers such a statement with `QueryCanceledError` (see `is_statement_timeout`).
    """
    server_settings: dict[str, str] = {}
    if statement_timeout_seconds > 0:
        server_settings["statement_timeout"] = str(max(1, round(statement_timeout_seconds * 1000)))
    engine = create_async_engine(
        async_database_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        # A server that hangs instead of refusing must fail a connection well inside a
        # job's timeout, so the job is retried as an outage, not timed out as stuck.
        connect_args={"timeout": CONNECT_TIMEOUT_SECONDS, "server_settings": server_settings},
    )
    event.listen(engine.sync_engine, "handle_error", _discard_broken)
    # A span per statement when the process is traced (docs/tracing.md).
    trace_statements(engine)
    return engine


def _discard_broken(context: ExceptionContext) -> None:
    """Count a broken connection as a disconnect, so the pool replaces it.

    Otherwise the pool hands the same dead connection out again: its pre-ping fails with an
    error the dialect does not take for a disconnect, and every request that draws it fails.
    Marked a disconnect, a failing pre-ping quietly opens a new connection, and a failing
    statement invalidates the connection and every older one in the pool (a crash broke
    them all).
    """
    if is_broken_connection(context.original_exception):
        context.is_disconnect = True


def is_statement_timeout(error: BaseException) -> bool:
    """Whether `error` (or what caused it) is PostgreSQL cancelling a statement that ran too long.

    SQLSTATE 57014 (query_canceled) is what `statement_timeout` raises; the driver's error
    sits under SQLAlchemy's wrapper, so the chain of causes is searched.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == QUERY_CANCELED:
            return True
        current = getattr(current, "orig", None) or current.__cause__
    return False


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return a factory of sessions whose objects stay readable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Open a session in a transaction, commit on success and roll back on any error."""
    async with sessions() as session, session.begin():
        yield session
