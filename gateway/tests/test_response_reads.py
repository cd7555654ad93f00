"""Reads of an incident's response and of webhooks: shapes, masking, tenancy, query counts."""

import uuid
from datetime import datetime, timedelta
from typing import TypeVar

from fastapi import FastAPI
from graphql import GraphQLObjectType
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from gateway.schema import build_schema
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid, page_cost
from gateway.tests.connections import error, ordered, page, walk
from libs.contracts.enums import (
    Channel,
    ContactKind,
    EndpointKind,
    EventType,
    IncidentStatus,
    ReviewStage,
    Role,
    StatementStatus,
    TeamRole,
)
from libs.database.engine import transaction
from libs.database.tables import Incident, Playbook, ResponseTask, ReviewReport, Statement
from tests.builders import Sessions, Tenant


def field_names(type_name: str) -> set[str]:
    """Return the fields clients can ask of `type_name`, read from the schema itself
    (introspection is off outside development)."""
    found = build_schema()._schema.get_type(type_name)
    assert isinstance(found, GraphQLObjectType)
    return set(found.fields)


RESPONSE = """
query($id: ID!) { incident(id: $id) {
  crisisType statusReason resolvedAt closedAt reopenedCount
  mergedInto { databaseId } recurrenceOf { databaseId }
  tasks { kind role channel breachedAt escalatedTo completedBy }
  team { role person }
  statements {
    id databaseId channel status reviewLevel legalApproved flags publishedUrl
    reviews { stage decision reviewer }
  }
  keyFacts { label value }
  affectedUsers { nameMasked contactKind contactMasked followUps { kind status } }
  review { id databaseId status sections rootCause improvements { action owner status } }
} }
"""

PAGE = """
query($first: Int) { incidents(first: $first) { edges { node {
  title
  tasks { kind role }
  team { role person }
  statements { channel reviews { stage } }
  keyFacts { label }
  affectedUsers { contactMasked followUps { kind } }
  review { status improvements { action } }
} } } }
"""


Child = TypeVar("Child", ResponseTask, Statement, ReviewReport)


def of_incident(table: type[Child], opened: Incident) -> SelectOfScalar[Child]:
    """Select the rows of `table` that belong to the incident."""
    return select(table).where(col(table.incident_id) == opened.id)


async def full_incident(session: AsyncSession, org: uuid.UUID, name: str, at: datetime) -> Incident:
    """Store an incident with every kind of response row."""
    watched = await builders.watchlist(session, org, name=name)
    opened = await builders.incident(
        session, watched, detected_at=at, status=IncidentStatus.RESOLVED
    )
    await builders.task(session, opened, "acknowledge", "确认并开始监测", 0, timedelta(minutes=30))
    await builders.member(session, opened, TeamRole.COMMANDER, "王总")
    said = await builders.statement(
        session, opened, status=StatementStatus.IN_REVIEW, review_level=1
    )
    await builders.statement_review(session, said, ReviewStage.LEVEL_1)
    await builders.key_fact(session, opened, "涉事批次", "20250301")
    await builders.affected_user(session, opened, "张三丰", ContactKind.PHONE, "13812345678")
    await builders.review(session, opened, root_cause="质检漏检")
    return opened


async def test_incident_shows_its_team_statements_facts_users_and_review(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        earlier = await builders.incident(
            session,
            await builders.watchlist(session, acme.org.id, name="旧事件"),
            detected_at=T0 - timedelta(days=30),
            status=IncidentStatus.CLOSED,
        )
        opened = await full_incident(session, acme.org.id, "奶粉质量", T0)
        stored = await session.get(Incident, opened.id)
        assert stored is not None
        stored.crisis_type = "product_quality"
        stored.status_reason = "召回完成"
        stored.resolved_at = T0 + timedelta(days=2)
        stored.recurrence_of_id = earlier.id
        stored.reopened_count = 1
        task = (await session.exec(of_incident(ResponseTask, opened))).one()
        task.role, task.channel = TeamRole.MONITOR.value, Channel.WEIBO.value
        task.breached_at, task.escalated_to = T0 + timedelta(minutes=31), "commander"
        task.completed_by = "api_key:duty"
    body = await gql(acme.auth(Role.VIEWER), RESPONSE, {"id": gid("Incident", opened.id)})
    assert "errors" not in body, body
    got = body["data"]["incident"]
    statement = got["statements"][0]
    review = got["review"]
    assert statement["id"] == gid("Statement", statement["databaseId"])
    assert review["id"] == gid("ReviewReport", review["databaseId"])
    assert got == {
        "crisisType": "PRODUCT_QUALITY",
        "statusReason": "召回完成",
        "resolvedAt": "2025-03-17T08:00:00+00:00",
        "closedAt": None,
        "reopenedCount": 1,
        "mergedInto": None,
        "recurrenceOf": {"databaseId": str(earlier.id)},
        "tasks": [
            {
                "kind": "acknowledge",
                "role": "MONITOR",
                "channel": "WEIBO",
                "breachedAt": "2025-03-15T08:31:00+00:00",
                "escalatedTo": "COMMANDER",
                "completedBy": "api_key:duty",
            }
        ],
        "team": [{"role": "COMMANDER", "person": "王总"}],
        "statements": [
            {
                "id": statement["id"],
                "databaseId": statement["databaseId"],
                "channel": "WEIBO",
                "status": "IN_REVIEW",
                "reviewLevel": 1,
                "legalApproved": False,
                "flags": [],
                "publishedUrl": None,
                "reviews": [
                    {"stage": "LEVEL_1", "decision": "APPROVE", "reviewer": "api_key:reviewer"}
                ],
            }
        ],
        "keyFacts": [{"label": "涉事批次", "value": "20250301"}],
        "affectedUsers": [
            {
                "nameMasked": "张**",
                "contactKind": "PHONE",
                "contactMasked": "138****5678",
                "followUps": [{"kind": "FOLLOW_UP", "status": "OPEN"}],
            }
        ],
        "review": {
            "id": review["id"],
            "databaseId": review["databaseId"],
            "status": "draft",
            "sections": {"timing": {"acknowledge": {"minutes": 12, "deadline_minutes": 30}}},
            "rootCause": "质检漏检",
            "improvements": [
                {"action": "客服工单 15 分钟内升级", "owner": "客服主管", "status": "open"}
            ],
        },
    }


async def test_affected_users_expose_masked_fields_only(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        opened = await builders.incident(
            session, await builders.watchlist(session, acme.org.id), detected_at=T0
        )
        await builders.affected_user(
            session, opened, "欧阳娜娜", ContactKind.EMAIL, "nana@example.com"
        )
        await builders.affected_user(
            session, opened, "李雷", ContactKind.ID_CARD, "11010119900307123X"
        )
    query = """
    query($id: ID!) {
      incident(id: $id) { affectedUsers { nameMasked contactKind contactMasked } }
    }
    """
    body = await gql(acme.auth(Role.RESPONDER), query, {"id": gid("Incident", opened.id)})
    assert body["data"]["incident"]["affectedUsers"] == [
        {"nameMasked": "欧阳**", "contactKind": "EMAIL", "contactMasked": "n***@example.com"},
        {"nameMasked": "李*", "contactKind": "ID_CARD", "contactMasked": "110101********123X"},
    ]
    assert field_names("AffectedUser") == {
        "databaseId",
        "nameMasked",
        "contactKind",
        "contactMasked",
        "createdBy",
        "createdAt",
        "followUps",
        "complaint",
    }
    text = str(body)
    for clear in ("欧阳娜娜", "nana@", "19900307", "sealed"):
        assert clear not in text


async def test_webhook_reads_never_show_secrets_and_mask_url_credentials(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        await builders.endpoint(
            session,
            acme.org.id,
            name="值班群",
            kind=EndpointKind.DINGTALK,
            url="https://oapi.dingtalk.com/robot/send?access_token=0123456789abcdef4f2a",
        )
        await builders.endpoint(session, acme.org.id, name="工单系统")
    query = """
    { webhookEndpoints { name kind url eventTypes status } }
    """
    body = await gql(acme.auth(Role.ADMIN), query)
    assert body["data"]["webhookEndpoints"] == [
        {
            "name": "值班群",
            "kind": "DINGTALK",
            "url": "https://oapi.dingtalk.com/robot/send?access_token=***4f2a",
            "eventTypes": ["INCIDENT_OPENED"],
            "status": "active",
        },
        {
            "name": "工单系统",
            "kind": "STANDARD",
            "url": "https://hooks.example.com/crisis?token=***mnop",
            "eventTypes": ["INCIDENT_OPENED"],
            "status": "active",
        },
    ]
    names = field_names("WebhookEndpoint")
    assert {name for name in names if "ecret" in name} == {"previousSecretExpiresAt"}


async def test_deliveries_page_newest_first_and_filter_by_endpoint_and_status(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        ticketing = await builders.endpoint(session, acme.org.id, name="工单系统")
        chat = await builders.endpoint(session, acme.org.id, name="值班群")
        made = [
            await builders.delivery(
                session,
                ticketing if i % 2 == 0 else chat,
                T0 + timedelta(minutes=i),
                status="failed" if i == 4 else "succeeded",
                payload={"contact": "客户电话 13812345678"},
            )
            for i in range(5)
        ]
    query = """
    query($first: Int, $after: String, $endpointId: ID, $status: String) {
      webhookDeliveries(first: $first, after: $after, endpointId: $endpointId, status: $status) {
        edges { node { databaseId status payload endpoint { name } } }
        pageInfo { hasNextPage endCursor }
      }
    }
    """
    first = await gql(acme.auth(Role.ADMIN), query, {"first": 3})
    page = first["data"]["webhookDeliveries"]
    rest = await gql(
        acme.auth(Role.ADMIN), query, {"first": 3, "after": page["pageInfo"]["endCursor"]}
    )
    seen = [e["node"]["databaseId"] for e in page["edges"]] + [
        e["node"]["databaseId"] for e in rest["data"]["webhookDeliveries"]["edges"]
    ]
    assert seen == [str(row.id) for row in reversed(made)]
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["edges"][0]["node"]["endpoint"] == {"name": "工单系统"}
    assert page["edges"][0]["node"]["payload"] == {"contact": "客户电话 138****5678"}
    filtered = await gql(
        acme.auth(Role.ADMIN),
        query,
        {"endpointId": gid("WebhookEndpoint", ticketing.id), "status": "succeeded"},
    )
    assert [e["node"]["databaseId"] for e in filtered["data"]["webhookDeliveries"]["edges"]] == [
        str(made[2].id),
        str(made[0].id),
    ]


async def test_other_organizations_response_and_webhooks_are_invisible(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        opened = await full_incident(session, acme.org.id, "奶粉质量", T0)
        said = (await session.exec(of_incident(Statement, opened))).one()
        report = (await session.exec(of_incident(ReviewReport, opened))).one()
        hook = await builders.endpoint(session, acme.org.id)
        sent = await builders.delivery(session, hook, T0)
        session.add(Playbook(organization_id=acme.org.id, tier="red", team=[], tasks=[]))
    ids = [
        gid("Statement", said.id),
        gid("ReviewReport", report.id),
        gid("WebhookEndpoint", hook.id),
        gid("WebhookDelivery", sent.id),
    ]
    lookups = " ".join(f'n{i}: node(id: "{node_id}") {{ id }}' for i, node_id in enumerate(ids))
    lists = "webhookEndpoints { id } webhookDeliveries { edges { node { id } } } playbooks { tier }"
    mine = await gql(acme.auth(Role.VIEWER), f"{{ {lookups} {lists} }}")
    theirs = await gql(rival.auth(Role.ADMIN), f"{{ {lookups} {lists} }}")
    assert [mine["data"][f"n{i}"]["id"] for i in range(4)] == ids
    assert len(mine["data"]["webhookEndpoints"]) == 1
    assert len(mine["data"]["playbooks"]) == 1
    assert theirs["data"] == {
        "n0": None,
        "n1": None,
        "n2": None,
        "n3": None,
        "webhookEndpoints": [],
        "webhookDeliveries": {"edges": []},
        "playbooks": [],
    }


async def test_a_page_of_incidents_with_their_response_costs_a_fixed_number_of_queries(
    app: FastAPI, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        for i in range(20):
            await full_incident(session, acme.org.id, f"清单{i}", T0 + timedelta(minutes=i))
    cost = await page_cost(
        app, lambda first: gql(acme.auth(Role.VIEWER), PAGE, {"first": first}), 2, 20
    )
    body = cost.body
    edges = body["data"]["incidents"]["edges"]
    assert len(edges) == 20
    assert all(len(e["node"]["statements"][0]["reviews"]) == 1 for e in edges)
    assert all(e["node"]["review"]["improvements"] for e in edges)
    assert all(e["node"]["affectedUsers"][0]["followUps"] for e in edges)
    # The page; then tasks, team, statements, key facts, affected users and review together;
    # then statement reviews, follow-ups and improvements together.
    assert cost.small == cost.large == 10


async def test_delivery_log_filters_by_event_type_and_status_and_sorts_by_attempts(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        ticketing = await builders.endpoint(session, acme.org.id)
        chat = await builders.endpoint(session, acme.org.id, "值班群")
        plan = [
            (ticketing, "succeeded", EventType.INCIDENT_OPENED, 1),
            (chat, "failed", EventType.TASK_OVERDUE, 8),
            (ticketing, "pending", EventType.TASK_OVERDUE, 3),
            (chat, "succeeded", EventType.INCIDENT_OPENED, 3),
            (ticketing, "gone", EventType.STATEMENT_PUBLISHED, 1),
        ]
        made = [
            await builders.delivery(
                session,
                target,
                T0 + timedelta(minutes=i // 2),
                status,
                event_type=event.value,
                attempts=attempts,
            )
            for i, (target, status, event, attempts) in enumerate(plan)
        ]
        await builders.delivery(session, await builders.endpoint(session, rival.org.id), T0)

    assert await walk(gql, acme, "webhookDeliveries", order_by={"field": "ATTEMPTS"}) == ordered(
        made, lambda d: d.attempts, descending=True
    )
    overdue = {"eventType": "TASK_OVERDUE"}
    assert await walk(gql, acme, "webhookDeliveries", filter=overdue) == ordered(
        made[1:3], lambda d: d.created_at, descending=True
    )
    assert await walk(
        gql,
        acme,
        "webhookDeliveries",
        filter={"endpointId": gid("WebhookEndpoint", chat.id), "status": "succeeded"},
    ) == [str(made[3].id)]
    refused = await page(gql, acme, "webhookDeliveries", filter={"status": "lost"})
    assert "`filter.status` must be one of pending, succeeded, failed, gone" in error(refused)
