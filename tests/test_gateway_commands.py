"""GraphQL mutations end to end: gateway → queue → the real analysis and incidents workers."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from arq.worker import Worker
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import GlobalID

from gateway.app import create_app
from gateway.config import GatewaySettings
from libs.contracts.enums import IncidentStatus, Role, TaskStatus, Tier
from libs.database.engine import transaction
from libs.database.tables import TimelineEvent, Watchlist
from libs.settings import Settings
from services.analysis.worker import create_worker as create_analysis_worker
from services.incidents.worker import create_worker as create_incidents_worker
from tests.builders import Tenant, incident, make_tenant, response_task, watchlist
from tests.fixtures.http import client_of
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

CREATE_WATCHLIST = """
mutation Create($input: CreateWatchlistInput!) {
  createWatchlist(input: $input) {
    __typename
    ... on Watchlist { id databaseId name keywords createdAt }
    ... on InvalidInput { message field }
    ... on Conflict { message field }
    ... on Forbidden { message }
  }
}
"""

ACKNOWLEDGE = """
mutation Acknowledge($id: ID!, $note: String) {
  acknowledgeIncident(id: $id, note: $note) {
    __typename
    ... on Incident {
      status acknowledgedBy acknowledgedAt
      tasks { kind status completedAt }
      timeline { kind actor }
    }
    ... on NotFound { message }
    ... on InvalidTransition { message currentStatus }
    ... on Forbidden { message }
  }
}
"""


@asynccontextmanager
async def gateway_with(
    servers: Servers, create_worker: Callable[..., Worker]
) -> AsyncIterator[httpx.AsyncClient]:
    """Run the gateway and one real worker until the block ends; yield a gateway client."""
    settings = settings_for(servers)
    worker = create_worker(settings, burst=False, handle_signals=False)
    async with running_workers(worker), client_of(create_app(settings)) as http:
        yield http


async def send(
    http: httpx.AsyncClient, tenant: Tenant, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """Post one operation as the tenant's responder; return the mutation's result."""
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=tenant.auth(Role.RESPONDER),
    )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    (result,) = body["data"].values()
    assert isinstance(result, dict)
    return result


def settings_for(servers: Servers) -> Settings:
    # Generous: the analysis worker loads its dictionaries before taking the first job.
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        command_timeout_seconds=30.0,
    )


async def test_create_watchlist_is_applied_by_the_analysis_worker(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with gateway_with(servers, create_analysis_worker) as http:
        created = await send(
            http,
            tenant,
            CREATE_WATCHLIST,
            {"input": {"name": "奶粉质量", "keywords": ["奶粉", "拉肚子"]}},
        )
        duplicate = await send(
            http, tenant, CREATE_WATCHLIST, {"input": {"name": "奶粉质量", "keywords": ["奶粉"]}}
        )
        blank = await send(
            http, tenant, CREATE_WATCHLIST, {"input": {"name": "物流", "keywords": ["   "]}}
        )

    assert created["__typename"] == "Watchlist"
    assert created["name"] == "奶粉质量"
    assert created["keywords"] == ["奶粉", "拉肚子"]
    assert created["id"] == str(GlobalID("Watchlist", created["databaseId"]))
    async with sessions() as session:
        stored = (await session.exec(select(Watchlist))).all()
    assert [(str(w.id), w.organization_id) for w in stored] == [
        (created["databaseId"], tenant.org.id)
    ]
    assert duplicate["__typename"] == "Conflict"
    assert duplicate["field"] == "name"
    assert blank == {
        "__typename": "InvalidInput",
        "message": "keywords must not be blank",
        "field": "keywords",
    }


async def test_acknowledge_incident_is_applied_by_the_incidents_worker(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    detected_at = datetime.now(UTC) - timedelta(minutes=10)
    async with transaction(sessions) as session:
        watched = await watchlist(session, tenant.org, "奶粉质量")
        opened = await incident(
            session, tenant.org, watched, tier=Tier.ORANGE, detected_at=detected_at
        )
        await response_task(
            session,
            opened,
            "acknowledge",
            detected_at + timedelta(minutes=30),
            title="确认事件并指派监测人",
        )
        resolved = await incident(
            session,
            tenant.org,
            watched,
            status=IncidentStatus.RESOLVED,
            detected_at=detected_at - timedelta(days=30),
        )
    async with gateway_with(servers, create_incidents_worker) as http:
        acknowledged = await send(
            http,
            tenant,
            ACKNOWLEDGE,
            {"id": str(GlobalID("Incident", str(opened.id))), "note": "值班监测已启动"},
        )
        refused = await send(
            http, tenant, ACKNOWLEDGE, {"id": str(GlobalID("Incident", str(resolved.id)))}
        )
        missing = await send(
            http, tenant, ACKNOWLEDGE, {"id": str(GlobalID("Incident", str(uuid.uuid4())))}
        )

    assert acknowledged["__typename"] == "Incident"
    assert acknowledged["status"] == "ACKNOWLEDGED"
    assert acknowledged["acknowledgedBy"].startswith("api_key:")
    assert acknowledged["tasks"][0]["kind"] == "acknowledge"
    assert acknowledged["tasks"][0]["status"] == TaskStatus.DONE.name
    assert acknowledged["timeline"], "acknowledging leaves a trace on the timeline"
    assert refused["__typename"] == "InvalidTransition"
    assert refused["currentStatus"] == "RESOLVED"
    assert "resolved" in refused["message"]
    assert missing["__typename"] == "NotFound"
    async with sessions() as session:
        events = (
            await session.exec(
                select(TimelineEvent).where(col(TimelineEvent.incident_id) == opened.id)
            )
        ).all()
    assert events and all(e.organization_id == tenant.org.id for e in events)
