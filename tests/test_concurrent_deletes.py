"""A NotFound only the service can give: two deletes of one endpoint, both past the gateway.

The gateway checks an endpoint is the caller's before sending a command about it, so a
service's NotFound takes a race. Here no worker runs while two deletes of one endpoint are
sent: both pass the gateway's check and wait on the queue. A notify worker then drains the
queue (burst mode); the endpoint lock lets one delete remove it and the other find nothing.
"""

import asyncio
import uuid
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.conftest import gid, serve
from gateway.tests.war_room_ops import OPS
from libs.contracts.enums import EventType, Role
from libs.contracts.messages import EVENTS_QUEUE, CommandResult
from libs.contracts.notify import CreateWebhookEndpoint
from libs.privacy import generate_key
from libs.settings import Settings
from services.notify.worker import create_worker
from tests.builders import Tenant, make_tenant
from tests.fixtures.servers import Servers
from tests.fixtures.workers import handled

DELETE = OPS["deleteWebhookEndpoint"].document


async def drain(settings: Settings) -> None:
    """Let a notify worker handle what is queued, then stop."""
    worker = create_worker(settings, burst=True, handle_signals=False)
    try:
        await worker.main()
    finally:
        await worker.close()


async def queued(redis: ArqRedis, count: int) -> None:
    """Wait until `count` jobs wait on the events queue."""
    async with asyncio.timeout(10):
        # Redis has no event for it: ask until the gateway has queued them.
        while len(await redis.queued_jobs(queue_name=EVENTS_QUEUE)) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def delete(http: httpx.AsyncClient, owner: Tenant, endpoint: str) -> dict[str, Any]:
    """Send deleteWebhookEndpoint and return its result."""
    response = await http.post(
        "/graphql",
        json={"query": DELETE, "variables": {"id": endpoint}},
        headers=owner.auth(Role.ADMIN),
    )
    result: dict[str, Any] = response.json()["data"]["deleteWebhookEndpoint"]
    return result


async def test_the_second_of_two_deletes_is_not_found_by_the_notify_service(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=generate_key()
    )
    owner = await make_tenant(sessions, "acme")
    command = CreateWebhookEndpoint(
        organization_id=owner.org.id,
        actor="key-admin",
        name="工单系统",
        url="https://93.184.215.14/hook",
        event_types=[EventType.TASK_OVERDUE],
    )
    creating = asyncio.ensure_future(handled(redis, command))
    await queued(redis, 1)
    await drain(settings)
    answer = CommandResult.model_validate(await creating)
    endpoint_id = uuid.UUID(answer.data["endpoint"]["id"])
    endpoint = gid("WebhookEndpoint", endpoint_id)
    async with serve(settings) as http:
        both = asyncio.gather(delete(http, owner, endpoint), delete(http, owner, endpoint))
        await queued(redis, 2)
        await drain(settings)
        results = await both
    assert sorted(results, key=lambda result: result["__typename"]) == [
        {"__typename": "NotFound", "message": f"webhook endpoint {endpoint_id} not found"},
        {
            "__typename": "WebhookEndpointDeleted",
            "deletedId": endpoint,
            "databaseId": str(endpoint_id),
        },
    ]
