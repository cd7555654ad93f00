"""Ingest while PostgreSQL is away or its connection broken: a 503 to retry, then one store.

The test runs a PostgreSQL of its own (`own_postgres`: the shared one cannot be stopped
under the other tests) beside the test backend's Redis.
"""

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from asyncpg.connection import Connection

from crisiswatch.embedded import EmbeddedPostgres, start_postgres
from libs.contracts.enums import Role
from libs.database.engine import create_engine, session_factory
from libs.database.tables import Mention
from services.ingest.config import IngestSettings
from services.ingest.problems import PROBLEM_JSON
from services.ingest.tests.builders import batch, count, count_of, mention, serve_ingest
from tests.builders import make_tenant
from tests.fixtures.servers import Servers, _asyncpg_dsn


async def _post_until_answered(
    client: httpx.AsyncClient, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    """Send the same body as a partner would: again after Retry-After while it answers 503."""
    for _ in range(20):
        answer = await client.post("/v1/mentions", content=body, headers=headers)
        if answer.status_code != 503:
            return answer
        await asyncio.sleep(0.5)
    return answer


async def test_a_push_while_postgres_is_down_answers_503_and_the_retry_stores_once(
    servers: Servers, own_postgres: EmbeddedPostgres
) -> None:
    engine = create_engine(own_postgres.url, pool_size=1)
    sessions = session_factory(engine)
    try:
        tenant = await make_tenant(sessions)
        headers = tenant.auth(Role.INGEST) | {"Content-Type": "application/json"}
        first = orjson.dumps(batch(mention("before")).model_dump(mode="json"))
        during = orjson.dumps(batch(mention("during")).model_dump(mode="json"))
        settings = IngestSettings(database_url=own_postgres.url, redis_url=servers.redis_url)
        async with serve_ingest(settings) as client:
            assert (await client.post("/v1/mentions", content=first, headers=headers)).is_success

            await asyncio.to_thread(own_postgres.stop)
            refused = await client.post("/v1/mentions", content=during, headers=headers)
            assert refused.status_code == 503
            assert refused.headers["content-type"] == PROBLEM_JSON
            assert refused.headers["retry-after"] == "5"
            assert refused.json()["title"] == "Service Unavailable"

            await asyncio.to_thread(start_postgres, own_postgres.pgdata)
            again = await _post_until_answered(client, during, headers)
            assert again.is_success, again.text
            repeat = await client.post("/v1/mentions", content=during, headers=headers)
            assert repeat.is_success
        await engine.dispose()
        engine = create_engine(own_postgres.url, pool_size=1)
        assert await count(session_factory(engine), Mention) == 2
    finally:
        await engine.dispose()


async def test_a_connection_the_driver_reports_broken_answers_503_and_is_replaced(
    servers: Servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """asyncpg's InternalClientError, as a pooled connection left broken by a crash raises it,
    is an outage to retry, not a fault of ours; the next request gets a fresh connection."""
    engine = create_engine(servers.database_url, pool_size=1)
    sessions = session_factory(engine)
    try:
        # A tenant of its own: the shared database holds other tests' mentions for "acme".
        tenant = await make_tenant(sessions, f"broken-{uuid.uuid4().hex[:8]}")
        headers = tenant.auth(Role.INGEST) | {"Content-Type": "application/json"}
        body = orjson.dumps(batch(mention("after-crash")).model_dump(mode="json"))
        settings = IngestSettings(database_url=servers.database_url, redis_url=servers.redis_url)
        real_prepare = Connection.prepare
        broken: set[Connection] = set()

        async def prepare(self: Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            # The connection that first stores a mention breaks, and stays broken.
            if self in broken or (not broken and query.startswith("INSERT INTO mention ")):
                broken.add(self)
                raise asyncpg.InternalClientError("not connected")
            return await real_prepare(self, query, *args, **kwargs)

        monkeypatch.setattr(Connection, "prepare", prepare)
        async with serve_ingest(settings) as client:
            refused = await client.post("/v1/mentions", content=body, headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == PROBLEM_JSON
            assert refused.headers["retry-after"] == "5"
            again = await client.post("/v1/mentions", content=body, headers=headers)
            assert again.status_code == 202, again.text
        async with sessions() as session:
            assert await count_of(session, Mention, tenant.org.id) == 1
    finally:
        await engine.dispose()


async def test_a_push_that_outlasts_the_statement_timeout_answers_503_and_the_retry_stores_once(
    servers: Servers,
) -> None:
    """A statement PostgreSQL cancels at `statement_timeout_ingest_seconds` (a slow moment:
    here a lock another transaction holds on the same mention) is an outage to retry, not a
    fault of ours: 503 with Retry-After, nothing kept, and the same body later stores once."""
    engine = create_engine(servers.database_url, pool_size=1)
    sessions = session_factory(engine)
    blocker = await asyncpg.connect(_asyncpg_dsn(servers.database_url))
    try:
        tenant = await make_tenant(sessions, f"slow-{uuid.uuid4().hex[:8]}")
        headers = tenant.auth(Role.INGEST) | {"Content-Type": "application/json"}
        body = orjson.dumps(batch(mention("held")).model_dump(mode="json"))
        settings = IngestSettings(
            database_url=servers.database_url,
            redis_url=servers.redis_url,
            statement_timeout_ingest_seconds=2,
        )
        async with serve_ingest(settings) as client:
            # Another writer has the same mention's key, uncommitted: the push's insert waits
            # for it until the timeout cancels the statement.
            held = blocker.transaction()
            await held.start()
            await blocker.execute(
                "INSERT INTO mention (id, organization_id, source, external_id, text, "
                "content_hash, url, posted_at, ingested_at, reposts, comments, likes, views) "
                "VALUES (gen_random_uuid(), $1, 'weibo', 'held', 'x', 'x', "
                "'https://weibo.com/x', now(), now(), 0, 0, 0, 0)",
                tenant.org.id,
            )
            refused = await client.post("/v1/mentions", content=body, headers=headers)
            await held.rollback()
            assert refused.status_code == 503, refused.text
            assert refused.headers["content-type"] == PROBLEM_JSON
            assert refused.headers["retry-after"] == "5"
            assert "cancelled the request's statement" in refused.json()["detail"]

            again = await client.post("/v1/mentions", content=body, headers=headers)
            assert again.status_code == 202, again.text
            repeat = await client.post("/v1/mentions", content=body, headers=headers)
            assert repeat.is_success, repeat.text
        async with sessions() as session:
            assert await count_of(session, Mention, tenant.org.id) == 1
    finally:
        await blocker.close()
        await engine.dispose()
