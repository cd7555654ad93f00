"""asyncpg's errors of a broken connection are outages; its errors of a misuse are not.

The classifier is fed the exceptions as SQLAlchemy's asyncpg dialect hands them on: the
driver's error translated into the dialect's DB-API class and wrapped in a `DBAPIError`.
The pool test runs against the real test PostgreSQL.
"""

from typing import Any

import asyncpg
import pytest
from asyncpg.connection import Connection
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import (
    AsyncAdapt_asyncpg_connection,
    AsyncAdapt_asyncpg_dbapi,
)
from sqlalchemy.exc import DBAPIError

from libs.database.engine import create_engine
from libs.messaging.failures import is_transient
from tests.fixtures.servers import Servers

DBAPI = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]


def as_sqlalchemy_raises(error: Exception) -> DBAPIError:
    """Return `error` translated and wrapped as a statement on an async engine raises it."""
    try:
        AsyncAdapt_asyncpg_connection._handle_exception_no_connection(DBAPI, error)
    except DBAPI.Error as translated:
        wrapped = DBAPIError.instance("SELECT 1", None, translated, DBAPI.Error)
        assert isinstance(wrapped, DBAPIError)
        wrapped.__cause__ = translated
        return wrapped
    raise AssertionError(f"{error!r} was not translated")


BROKEN = [
    # After a crash, a pooled connection whose protocol is left failed.
    asyncpg.InternalClientError('cannot switch to state 1; protocol is in the "failed" state'),
    asyncpg.InternalClientError("not connected"),
    asyncpg.exceptions.ProtocolError("unexpected message"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
]
MISUSED = [
    asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
    asyncpg.exceptions.DataError("invalid input for query argument $1: 'x' (an int is required)"),
    asyncpg.UniqueViolationError("duplicate key value violates unique constraint"),
]


@pytest.mark.parametrize("error", BROKEN, ids=lambda e: type(e).__name__)
def test_a_broken_connection_is_an_outage(error: Exception) -> None:
    assert is_transient(error)
    wrapped = as_sqlalchemy_raises(error)
    assert not wrapped.connection_invalidated  # as on the paths where the dialect missed it
    assert is_transient(wrapped)


@pytest.mark.parametrize("error", MISUSED, ids=lambda e: type(e).__name__)
def test_a_misuse_of_a_live_connection_is_a_fault(error: Exception) -> None:
    assert not is_transient(error)
    assert not is_transient(as_sqlalchemy_raises(error))


async def test_the_pool_discards_a_connection_its_driver_reports_broken(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The one connection of the pool starts failing as a crash leaves it; the next checkout
    gets a fresh one instead of failing with it again and again."""
    engine = create_engine(servers.database_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            broken = raw.driver_connection
            assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
        real_fetchrow = Connection.fetchrow

        async def fetchrow(self: Connection, *args: Any, **kwargs: Any) -> Any:
            if self is broken:  # the pre-ping's statement on the broken connection
                raise asyncpg.InternalClientError("not connected")
            return await real_fetchrow(self, *args, **kwargs)

        monkeypatch.setattr(Connection, "fetchrow", fetchrow)
        for _ in range(2):
            async with engine.connect() as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar_one() == 1
                raw = await connection.get_raw_connection()
                assert raw.driver_connection is not broken
    finally:
        await engine.dispose()
