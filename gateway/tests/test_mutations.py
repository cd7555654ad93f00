"""Mutations as commands: a real arq worker answers the way the owning service does.

The handlers here stand in for the analysis and incidents services so these tests pin the
gateway's half of the contract: what it sends, how it maps each answer, how it times out.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import rows
from gateway.tests.conftest import GraphQL, gid, queued_for, serve
from gateway.tests.rows import T0
from libs.contracts.enums import IncidentStatus, Role
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    INCIDENTS_QUEUE,
    AcknowledgeIncident,
    CommandResult,
    CreateWatchlist,
)
from libs.database.engine import transaction
from libs.database.tables import Incident, TimelineEvent, Watchlist
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from libs.settings import Settings
from tests.builders import Tenant
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

CREATE_WATCHLIST = """
mutation Create($input: CreateWatchlistInput!) {
  createWatchlist(input: $input) {
    __typename
    ... on Watchlist { id databaseId name keywords currentTier createdAt }
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
    ... on Incident { databaseId status acknowledgedBy acknowledgedAt timeline { kind message } }
    ... on NotFound { message }
    ... on InvalidTransition { message currentStatus }
    ... on Forbidden { message }
  }
}
"""


async def create_watchlist(
    runtime: Runtime, session: AsyncSession, command: CreateWatchlist
) -> Outcome:
    """Answer like the analysis service: refuse a duplicate name, else store the watchlist."""
    keywords = [k.strip() for k in command.keywords if k.strip()]
    if not keywords:
        return Outcome(result=CommandResult.failure("Invalid", "关键词不能为空", "keywords"))
    taken = await session.exec(
        select(Watchlist).where(
            col(Watchlist.organization_id) == command.organization_id,
            col(Watchlist.name) == command.name,
        )
    )
    if taken.first() is not None:
        return Outcome(
            result=CommandResult.failure("Conflict", f"监测清单「{command.name}」已存在", "name")
        )
    row = Watchlist(organization_id=command.organization_id, name=command.name, keywords=keywords)
    session.add(row)
    await session.flush()
    return Outcome(
        result=CommandResult.success(
            id=str(row.id),
            name=row.name,
            keywords=row.keywords,
            created_at=row.created_at.isoformat(),
        )
    )


async def acknowledge_incident(
    runtime: Runtime, session: AsyncSession, command: AcknowledgeIncident
) -> Outcome:
    """Answer like the incidents service: acknowledging again is a no-op success."""
    row = await session.get(Incident, command.incident_id)
    if row is None or row.organization_id != command.organization_id:
        return Outcome(result=CommandResult.failure("NotFound", "事件不存在"))
    if row.status == IncidentStatus.ACKNOWLEDGED:
        return Outcome(result=CommandResult.success(id=str(row.id), status=row.status))
    if row.status != IncidentStatus.DETECTED:
        return Outcome(
            result=CommandResult.failure(
                "InvalidTransition", f"cannot acknowledge an incident that is {row.status}"
            )
        )
    now = datetime.now(UTC)
    row.status = IncidentStatus.ACKNOWLEDGED.value
    row.acknowledged_at = now
    row.acknowledged_by = command.actor
    session.add(
        TimelineEvent(
            organization_id=row.organization_id,
            incident_id=row.id,
            kind="acknowledged",
            message=command.note or "已确认，开始监测",
            actor=command.actor,
            occurred_at=now,
        )
    )
    return Outcome(result=CommandResult.success(id=str(row.id), status=row.status))


@asynccontextmanager
async def services(servers: Servers) -> AsyncIterator[None]:
    """Run stand-in analysis and incidents workers on their real queues."""
    workers = [
        build_worker(
            consumer="test-analysis",
            queue=ANALYSIS_QUEUE,
            routes=[Route(CreateWatchlist, create_watchlist)],
            database_url=servers.database_url,
            redis_url=servers.redis_url,
            handle_signals=False,
        ),
        build_worker(
            consumer="test-incidents",
            queue=INCIDENTS_QUEUE,
            routes=[Route(AcknowledgeIncident, acknowledge_incident)],
            database_url=servers.database_url,
            redis_url=servers.redis_url,
            handle_signals=False,
        ),
    ]
    async with running_workers(*workers):
        yield


async def test_responder_creates_a_watchlist_through_the_analysis_service(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    variables = {"input": {"name": "奶粉质量", "keywords": ["奶粉", "拉肚子"]}}
    async with services(servers):
        body = await gql(acme.auth(Role.RESPONDER), CREATE_WATCHLIST, variables)
        again = await gql(acme.auth(Role.ADMIN), CREATE_WATCHLIST, variables)

    created = body["data"]["createWatchlist"]
    assert created["__typename"] == "Watchlist"
    assert created["name"] == "奶粉质量" and created["keywords"] == ["奶粉", "拉肚子"]
    assert created["id"] == gid("Watchlist", created["databaseId"])
    async with sessions() as session:
        stored = (await session.exec(select(Watchlist))).all()
    assert [(str(w.id), w.organization_id) for w in stored] == [
        (created["databaseId"], acme.org.id)
    ]
    assert again["data"]["createWatchlist"] == {
        "__typename": "Conflict",
        "message": "监测清单「奶粉质量」已存在",
        "field": "name",
    }


async def test_service_refusal_of_an_input_maps_to_invalid_input(
    servers: Servers, gql: GraphQL, acme: Tenant
) -> None:
    async with services(servers):
        body = await gql(
            acme.auth(Role.RESPONDER),
            CREATE_WATCHLIST,
            {"input": {"name": "空白", "keywords": ["  "]}},
        )
    assert body["data"]["createWatchlist"] == {
        "__typename": "InvalidInput",
        "message": "关键词不能为空",
        "field": "keywords",
    }


async def test_input_the_command_contract_rejects_is_refused_without_sending(
    gql: GraphQL, redis: ArqRedis, acme: Tenant
) -> None:
    body = await gql(
        acme.auth(Role.RESPONDER), CREATE_WATCHLIST, {"input": {"name": "", "keywords": ["奶粉"]}}
    )
    refused = body["data"]["createWatchlist"]
    assert refused["__typename"] == "InvalidInput" and refused["field"] == "name"
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == []


async def test_viewer_mutations_are_forbidden_and_send_nothing(
    gql: GraphQL, redis: ArqRedis, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        opened = await rows.incident(
            session, await rows.watchlist(session, acme.org.id), detected_at=T0
        )
    viewer = acme.auth(Role.VIEWER)
    created = await gql(viewer, CREATE_WATCHLIST, {"input": {"name": "物流", "keywords": ["快递"]}})
    acknowledged = await gql(viewer, ACKNOWLEDGE, {"id": gid("Incident", opened.id)})
    assert created["data"]["createWatchlist"]["__typename"] == "Forbidden"
    assert acknowledged["data"]["acknowledgeIncident"] == {
        "__typename": "Forbidden",
        "message": "A key with role `viewer` may read but not change data.",
    }
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == []
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []


async def test_acknowledging_again_answers_the_incident_and_a_closed_one_is_refused(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, acme.org.id)
        opened = await rows.incident(session, watched, detected_at=T0)
        resolved = await rows.incident(
            session,
            await rows.watchlist(session, acme.org.id, name="物流"),
            detected_at=T0,
            status=IncidentStatus.RESOLVED,
        )
    variables = {"id": gid("Incident", opened.id), "note": "值班监测已启动"}
    async with services(servers):
        first = await gql(acme.auth(Role.RESPONDER), ACKNOWLEDGE, variables)
        second = await gql(acme.auth(Role.RESPONDER), ACKNOWLEDGE, variables)
        closed = await gql(
            acme.auth(Role.RESPONDER), ACKNOWLEDGE, {"id": gid("Incident", resolved.id)}
        )

    acknowledged = first["data"]["acknowledgeIncident"]
    assert acknowledged["__typename"] == "Incident"
    assert acknowledged["status"] == "ACKNOWLEDGED"
    assert acknowledged["acknowledgedBy"].startswith("api_key:")
    assert acknowledged["timeline"] == [{"kind": "acknowledged", "message": "值班监测已启动"}]
    assert second["data"]["acknowledgeIncident"] == acknowledged
    assert closed["data"]["acknowledgeIncident"] == {
        "__typename": "InvalidTransition",
        "message": "cannot acknowledge an incident that is resolved",
        "currentStatus": "RESOLVED",
    }


async def test_acknowledging_another_organizations_incident_is_not_found(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    rival: Tenant,
) -> None:
    async with transaction(sessions) as session:
        opened = await rows.incident(
            session, await rows.watchlist(session, acme.org.id), detected_at=T0
        )
    body = await gql(rival.auth(Role.ADMIN), ACKNOWLEDGE, {"id": gid("Incident", opened.id)})
    assert body["data"]["acknowledgeIncident"]["__typename"] == "NotFound"
    assert await queued_for(redis, INCIDENTS_QUEUE, rival) == []


async def test_silent_service_surfaces_as_an_error_naming_it(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    impatient = settings.model_copy(update={"command_timeout_seconds": 0.3})
    async with serve(impatient) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": CREATE_WATCHLIST,
                "variables": {"input": {"name": "超时", "keywords": ["x"]}},
            },
            headers=acme.auth(Role.RESPONDER),
        )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "The analysis service did not answer within 0.3 s; the change may still be applied later."
    )
    # The command stays queued for the service to apply when it is back.
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == [CreateWatchlist.job_name()]
