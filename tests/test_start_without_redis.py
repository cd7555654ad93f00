"""The HTTP services start while Redis is away: ingest takes mentions, the gateway reads.

A process restarted during a Redis outage (a crash, a deploy, a Kubernetes reschedule) must
not wait for Redis to come back before it answers: ingest keeps the announcements in its
outbox and limits requests per process, the gateway answers reads from PostgreSQL, and both
say on their health that they are not ready.
"""

import orjson
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.config import GatewaySettings
from gateway.tests.conftest import serve
from libs.contracts.enums import Role
from libs.database.engine import transaction
from libs.database.tables import OutboxMessage
from services.ingest.config import IngestSettings
from services.ingest.tests.builders import batch, mention, serve_ingest
from tests.builders import make_tenant, watchlist
from tests.fixtures.servers import Servers

# Nothing listens on port 1: every connection is refused at once, as with Redis down.
NO_REDIS = "redis://127.0.0.1:1/0"


async def test_ingest_starts_and_takes_mentions_without_redis(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await make_tenant(sessions)
    settings = IngestSettings(database_url=servers.database_url, redis_url=NO_REDIS)
    body = orjson.dumps(batch(mention("while-redis-is-away")).model_dump(mode="json"))
    headers = tenant.auth(Role.INGEST) | {"Content-Type": "application/json"}
    async with serve_ingest(settings) as http:
        health = await http.get("/healthz")
        accepted = await http.post("/v1/mentions", content=body, headers=headers)
    assert health.status_code == 503
    assert accepted.status_code == 202, accepted.text
    async with sessions() as session:
        waiting = (
            await session.exec(
                select(OutboxMessage).where(
                    col(OutboxMessage.producer) == "ingest",
                    col(OutboxMessage.published_at).is_(None),
                )
            )
        ).all()
    # The announcement waits in the outbox for the relay to publish it once Redis is back.
    assert any(message.payload.get("organization_id") == str(tenant.org.id) for message in waiting)


async def test_the_gateway_starts_and_answers_reads_without_redis(
    servers: Servers, sessions: async_sessionmaker[AsyncSession]
) -> None:
    tenant = await make_tenant(sessions)
    async with transaction(sessions) as session:
        await watchlist(session, tenant.org, "禾岚")
    settings = GatewaySettings(database_url=servers.database_url, redis_url=NO_REDIS)
    async with serve(settings) as http:
        health = await http.get("/healthz")
        read = await http.post(
            "/graphql", json={"query": "{ watchlists { name } }"}, headers=tenant.auth(Role.VIEWER)
        )
    assert health.status_code == 503
    assert read.status_code == 200, read.text
    assert read.json()["data"] == {"watchlists": [{"name": "禾岚"}]}
