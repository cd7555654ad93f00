"""People, keys acting for them, and the audit log: gateway → queue → the real workers."""

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import GlobalID

from gateway.app import create_app
from gateway.config import GatewaySettings
from libs.contracts.enums import Role, Tier
from libs.database.engine import transaction
from libs.database.tables import ApiKey, AuditEntry, TimelineEvent
from libs.privacy import generate_key
from services.analysis.worker import create_worker as create_analysis_worker
from services.incidents.worker import create_worker as create_incidents_worker
from services.notify.worker import create_worker as create_notify_worker
from tests.builders import Tenant, incident, make_tenant, watchlist
from tests.fixtures.http import client_of
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

CREATE_PERSON = """
mutation Create($input: CreatePersonInput!) {
  createPerson(input: $input) {
    __typename
    ... on CreatePersonPayload { person { id databaseId name contacts { channel value }
                                          chatHandles { platform handle } } }
    ... on InvalidInput { message field }
    ... on Forbidden { message }
  }
}
"""
ISSUE_KEY = """
mutation Issue($input: IssuePersonKeyInput!) {
  issuePersonKey(input: $input) {
    __typename
    ... on IssuePersonKeyPayload { secret apiKey { id serviceAccount person { name } } }
    ... on InvalidInput { message field }
    ... on NotFound { message }
    ... on Forbidden { message }
  }
}
"""
DEACTIVATE = """
mutation Leave($input: DeactivatePersonInput!) {
  deactivatePerson(input: $input) {
    __typename
    ... on DeactivatePersonPayload { person { deactivatedAt } revokedKeyIds }
    ... on InvalidInput { message field }
    ... on NotFound { message }
  }
}
"""
ACKNOWLEDGE = """
mutation Acknowledge($id: ID!) {
  acknowledgeIncident(id: $id) {
    __typename
    ... on Incident { timeline { kind actor person { name } } }
  }
}
"""
UPDATE_WATCHLIST = """
mutation Update($input: UpdateWatchlistInput!) {
  updateWatchlist(input: $input) { __typename ... on Watchlist { query } }
}
"""
SET_PLAYBOOK = """
mutation Set($input: SetPlaybookInput!) {
  setPlaybook(input: $input) { __typename }
}
"""
AUDIT_LOG = """
query Audit($filter: AuditEntryFilter, $first: Int) {
  auditLog(first: $first, filter: $filter) {
    edges { node { entityKind entityId action before after actor keyId occurredAt
                   person { name } } }
    pageInfo { hasNextPage }
  }
}
"""


def _settings(servers: Servers) -> GatewaySettings:
    # Generous: the analysis worker loads its dictionaries before taking the first job.
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        command_timeout_seconds=30.0,
    )


@asynccontextmanager
async def war_room(servers: Servers) -> AsyncIterator[httpx.AsyncClient]:
    """Run the gateway with the real analysis and incidents workers; yield a client."""
    settings = _settings(servers)
    workers = (
        create_analysis_worker(settings, burst=False, handle_signals=False),
        create_incidents_worker(settings, burst=False, handle_signals=False),
    )
    async with running_workers(*workers), client_of(create_app(settings)) as http:
        yield http


async def post(
    http: httpx.AsyncClient, secret: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Post one operation with key `secret`; return the decoded body."""
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def result_of(
    http: httpx.AsyncClient, secret: str, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Post one operation that must not fail; return its one field's value."""
    body = await post(http, secret, query, variables)
    assert "errors" not in body, body
    (value,) = body["data"].values()
    assert isinstance(value, dict)
    return value


async def person_with_key(
    http: httpx.AsyncClient, tenant: Tenant, name: str, role: Role = Role.RESPONDER
) -> tuple[str, str]:
    """Create a person and issue them a key of `role`; return their global id and secret."""
    created = await result_of(
        http, tenant.keys[Role.ADMIN], CREATE_PERSON, {"input": {"name": name}}
    )
    person_id = created["person"]["id"]
    issued = await result_of(
        http,
        tenant.keys[Role.ADMIN],
        ISSUE_KEY,
        {"input": {"personId": person_id, "role": role.name}},
    )
    return person_id, issued["secret"]


async def test_a_person_key_acts_for_its_person_on_the_timeline(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with transaction(sessions) as session:
        opened = await incident(
            session, tenant.org, await watchlist(session, tenant.org), tier=Tier.YELLOW
        )
    async with war_room(servers) as http:
        created = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            CREATE_PERSON,
            {
                "input": {
                    "name": "林悦",
                    "contacts": [{"channel": "PHONE", "value": "13812345678"}],
                    "chatHandles": [{"platform": "FEISHU", "handle": "@linyue"}],
                }
            },
        )
        issued = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            ISSUE_KEY,
            {"input": {"personId": created["person"]["id"], "role": "RESPONDER"}},
        )
        acknowledged = await result_of(
            http, issued["secret"], ACKNOWLEDGE, {"id": str(GlobalID("Incident", str(opened.id)))}
        )
        me = await post(http, issued["secret"], "{ actingPerson { name } }")
        service = await post(http, tenant.keys[Role.RESPONDER], "{ actingPerson { name } }")

    assert created["person"]["contacts"] == [{"channel": "PHONE", "value": "13812345678"}]
    assert created["person"]["chatHandles"] == [{"platform": "FEISHU", "handle": "@linyue"}]
    assert issued["apiKey"]["serviceAccount"] is None
    assert issued["apiKey"]["person"] == {"name": "林悦"}
    assert acknowledged["timeline"][-1]["person"] == {"name": "林悦"}
    assert acknowledged["timeline"][-1]["actor"].startswith("api_key:")
    assert me["data"] == {"actingPerson": {"name": "林悦"}}
    assert service["data"] == {"actingPerson": None}
    async with sessions() as session:
        events = (
            await session.exec(
                select(TimelineEvent).where(col(TimelineEvent.incident_id) == opened.id)
            )
        ).all()
        key = (await session.exec(select(ApiKey).where(col(ApiKey.person_id).is_not(None)))).one()
    assert [event.person_id for event in events] == [uuid.UUID(created["person"]["databaseId"])]
    assert events[0].actor == f"api_key:{key.id}"


async def test_keys_that_existed_are_service_accounts_acting_for_nobody(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with client_of(create_app(_settings(servers))) as http:
        keys = await post(
            http, tenant.keys[Role.ADMIN], "{ apiKeys { name serviceAccount person { name } } }"
        )
    assert keys["data"]["apiKeys"], keys
    assert all(
        key["serviceAccount"] == key["name"] and key["person"] is None
        for key in keys["data"]["apiKeys"]
    )
    async with sessions() as session, session.begin():
        connection = await session.connection()
        with pytest.raises(DBAPIError, match="ck_api_key_one_owner"):
            await connection.execute(text("UPDATE api_key SET service_account = NULL"))


async def test_configuration_changes_are_audited_with_before_after_and_person(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with transaction(sessions) as session:
        watched = await watchlist(session, tenant.org, "奶粉")
    started = datetime.now(UTC)
    async with war_room(servers) as http:
        person_id, secret = await person_with_key(http, tenant, "周敏")
        updated = await result_of(
            http,
            secret,
            UPDATE_WATCHLIST,
            {
                "input": {
                    "id": str(GlobalID("Watchlist", str(watched.id))),
                    "query": "奶粉 & (结块 | 异物)",
                }
            },
        )
        playbook = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            SET_PLAYBOOK,
            {
                "input": {
                    "tier": "YELLOW",
                    "team": [{"role": "MONITOR", "count": 1}],
                    "tasks": [
                        {
                            "kind": "acknowledge",
                            "title": "确认事件",
                            "dueAfterMinutes": 30,
                            "role": "MONITOR",
                        }
                    ],
                }
            },
        )
        everything = await result_of(http, tenant.keys[Role.ADMIN], AUDIT_LOG, {"first": 50})
        by_person = await result_of(
            http, tenant.keys[Role.ADMIN], AUDIT_LOG, {"filter": {"personId": person_id}}
        )
        playbooks = await result_of(
            http, tenant.keys[Role.ADMIN], AUDIT_LOG, {"filter": {"entityKind": "PLAYBOOK"}}
        )
        later = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            AUDIT_LOG,
            {"filter": {"since": (datetime.now(UTC) + timedelta(minutes=1)).isoformat()}},
        )
        earlier = await result_of(
            http, tenant.keys[Role.ADMIN], AUDIT_LOG, {"filter": {"until": started.isoformat()}}
        )

    assert updated == {"__typename": "Watchlist", "query": "奶粉 & (结块 | 异物)"}
    assert playbook == {"__typename": "Playbook"}
    entries = [edge["node"] for edge in everything["edges"]]
    # Newest first: the playbook, the watchlist, the key, the person.
    assert [(e["entityKind"], e["action"]) for e in entries] == [
        ("PLAYBOOK", "set"),
        ("WATCHLIST", "update"),
        ("API_KEY", "create"),
        ("PERSON", "create"),
    ]
    change = entries[1]
    assert change["entityId"] == str(watched.id)
    assert change["before"]["query"] == ""
    assert change["after"]["query"] == "奶粉 & (结块 | 异物)"
    assert change["person"] == {"name": "周敏"}
    assert "current_tier" not in change["after"]
    assert entries[0]["before"] is None
    assert entries[0]["after"]["tier"] == "yellow"
    assert entries[0]["person"] is None, "an admin service key acts for nobody"
    assert entries[2]["after"]["person_id"] == person_id_of(person_id)
    assert "key_hash" not in entries[2]["after"]
    assert [e["node"]["action"] for e in by_person["edges"]] == ["update"]
    assert [e["node"]["entityKind"] for e in playbooks["edges"]] == ["PLAYBOOK"]
    assert later["edges"] == []
    assert earlier["edges"] == []


def person_id_of(global_id: str) -> str:
    """Return the database id a global id carries."""
    return GlobalID.from_id(global_id).node_id


async def test_the_audit_log_is_for_admins_of_its_own_organization(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")
    rival = await make_tenant(sessions, "rival")
    async with client_of(create_app(_settings(servers))) as http:
        person_id, _ = await person_with_key(http, acme, "王磊")
        own = await result_of(http, acme.keys[Role.ADMIN], AUDIT_LOG)
        foreign = await result_of(http, rival.keys[Role.ADMIN], AUDIT_LOG)
        responder = await post(http, acme.keys[Role.RESPONDER], AUDIT_LOG)
        rival_people = await post(
            http, rival.keys[Role.ADMIN], "{ people { edges { node { name } } } }"
        )
        rival_node = await post(
            http,
            rival.keys[Role.ADMIN],
            "query($id: ID!) { node(id: $id) { id } }",
            {"id": person_id},
        )
    assert len(own["edges"]) == 2
    assert foreign["edges"] == []
    assert responder["data"] is None
    assert "admin" in responder["errors"][0]["message"]
    assert rival_people["data"]["people"]["edges"] == []
    assert rival_node["data"] == {"node": None}


async def test_deactivating_a_person_revokes_their_keys(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with client_of(create_app(_settings(servers))) as http:
        person_id, secret = await person_with_key(http, tenant, "赵强")
        before = await post(http, secret, "{ actingPerson { name } }")
        left = await result_of(
            http, tenant.keys[Role.ADMIN], DEACTIVATE, {"input": {"id": person_id}}
        )
        after = await http.post(
            "/graphql",
            json={"query": "{ actingPerson { name } }"},
            headers={"Authorization": f"Bearer {secret}"},
        )
        again = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            ISSUE_KEY,
            {"input": {"personId": person_id, "role": "VIEWER"}},
        )
    assert before["data"] == {"actingPerson": {"name": "赵强"}}
    assert left["person"]["deactivatedAt"] is not None
    assert len(left["revokedKeyIds"]) == 1
    assert after.status_code == 401
    assert again == {
        "__typename": "InvalidInput",
        "message": "The person was deactivated; a key cannot act for them.",
        "field": "personId",
    }
    async with sessions() as session:
        actions = (
            await session.exec(select(AuditEntry.action).order_by(col(AuditEntry.occurred_at)))
        ).all()
    assert list(actions) == ["create", "create", "revoke", "deactivate"]


async def test_people_input_is_checked_field_by_field(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with client_of(create_app(_settings(servers))) as http:
        blank = await result_of(
            http, tenant.keys[Role.ADMIN], CREATE_PERSON, {"input": {"name": "  "}}
        )
        bad_phone = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            CREATE_PERSON,
            {"input": {"name": "李", "contacts": [{"channel": "SMS", "value": "call me"}]}},
        )
        responder = await result_of(
            http, tenant.keys[Role.RESPONDER], CREATE_PERSON, {"input": {"name": "李"}}
        )
    assert blank["field"] == "name"
    assert bad_phone["field"] == "contacts[0].value"
    assert responder["__typename"] == "Forbidden"


async def test_audit_entries_refuse_update_and_delete_in_the_database(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    tenant = await make_tenant(sessions, "acme")
    async with transaction(sessions) as session:
        session.add(
            AuditEntry(
                organization_id=tenant.org.id,
                entity_kind="watchlist",
                action="create",
                after={"name": "奶粉"},
                actor="system",
                occurred_at=datetime.now(UTC),
            )
        )
    for statement in ("UPDATE audit_entry SET action = 'forged'", "DELETE FROM audit_entry"):
        async with sessions() as session, session.begin():
            connection = await session.connection()
            with pytest.raises(DBAPIError, match="append-only"):
                await connection.execute(text(statement))
    async with sessions() as session:
        kept = (await session.exec(select(AuditEntry.action))).all()
    assert list(kept) == ["create"]


CREATE_WEBHOOK = """
mutation Create($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) {
    __typename ... on WebhookEndpointCreated { endpoint { id } } ... on Refusal { message }
  }
}
"""
DELETE_WEBHOOK = """
mutation Delete($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }
"""


async def test_webhook_changes_are_audited_by_the_notify_worker_without_secrets(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    settings = _settings(servers).model_copy(update={"data_key": generate_key()})
    worker = create_notify_worker(settings, burst=False, handle_signals=False)
    async with running_workers(worker), client_of(create_app(settings)) as http:
        admin = tenant.keys[Role.ADMIN]
        created = await result_of(
            http,
            admin,
            CREATE_WEBHOOK,
            {
                "input": {
                    "name": "工单系统",
                    "url": "https://93.184.215.14/in",
                    "eventTypes": ["INCIDENT_OPENED"],
                }
            },
        )
        assert "endpoint" in created, created
        endpoint = created["endpoint"]["id"]
        deleted = await result_of(http, admin, DELETE_WEBHOOK, {"id": endpoint})
        log = await result_of(http, admin, AUDIT_LOG, {"filter": {"entityKind": "WEBHOOK"}})

    assert deleted["__typename"] != "NotFound"
    removal, creation = (edge["node"] for edge in log["edges"])
    assert (creation["action"], removal["action"]) == ("create", "delete")
    assert creation["entityId"] == removal["entityId"] == person_id_of(endpoint)
    assert creation["before"] is None
    assert creation["after"]["url"] == "https://93.184.215.14/in"
    assert not {"secret_cipher", "previous_secret_cipher"} & set(creation["after"])
    assert removal["before"]["name"] == "工单系统"
    assert removal["after"] is None


CREATE_WATCHLIST = """
mutation Create($input: CreateWatchlistInput!) {
  createWatchlist(input: $input) { __typename }
}
"""


async def test_a_refused_configuration_command_leaves_no_audit_entry(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    admin = tenant.keys[Role.ADMIN]
    watch = {"input": {"name": "奶粉", "keywords": ["奶粉"]}}
    async with war_room(servers) as http:
        created = await result_of(http, admin, CREATE_WATCHLIST, watch)
        duplicate = await result_of(http, admin, CREATE_WATCHLIST, watch)
        log = await result_of(http, admin, AUDIT_LOG)

    assert created == {"__typename": "Watchlist"}
    assert duplicate == {"__typename": "Conflict"}
    entries = [edge["node"] for edge in log["edges"]]
    assert [(e["entityKind"], e["action"]) for e in entries] == [("WATCHLIST", "create")]
    assert entries[0]["before"] is None
    assert entries[0]["after"]["keywords"] == ["奶粉"]
