"""Duties through the gateway and the real incidents worker: who may approve what, and the
team an incident's tier calls for."""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import GlobalID

from gateway.app import create_app
from libs.contracts.enums import IncidentStatus, Role, TeamRole, Tier
from libs.database.engine import transaction
from services.incidents.worker import create_worker as create_incidents_worker
from tests.builders import Tenant, incident, make_tenant, response_task, watchlist
from tests.fixtures.http import client_of
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers
from tests.test_people_and_audit import _settings, person_with_key, result_of

DRAFT = """
mutation Draft($incident: ID!, $body: String!) {
  draftStatement(incidentId: $incident, channel: WEIBO, body: $body) {
    __typename ... on Statement { id status }
  }
}
"""
REVIEW = """
mutation Review($id: ID!, $stage: ReviewStage!) {
  reviewStatement(id: $id, stage: $stage, decision: APPROVE) {
    __typename
    ... on Statement { status reviewLevel }
    ... on Forbidden { message }
  }
}
"""
ASSIGN = """
mutation Assign($incident: ID!, $role: TeamRole!, $person: String!) {
  assignRole(incidentId: $incident, role: $role, person: $person) {
    __typename ... on Incident { team { role person assignee { name } } }
  }
}
"""
INCIDENT = """
query Incident($id: ID!) {
  incident(id: $id) {
    requiredRoles { role needed people filled missing }
    tasks { kind roleFilled }
  }
}
"""


async def _incident(sessions: async_sessionmaker[AsyncSession], tenant: Tenant, tier: Tier) -> str:
    async with transaction(sessions) as session:
        opened = await incident(
            session,
            tenant.org,
            await watchlist(session, tenant.org, f"奶粉{tier.value}"),
            tier=tier,
        )
        due = datetime.now(UTC) + timedelta(hours=4)
        await response_task(
            session, opened, "first_statement", due, role=TeamRole.SPOKESPERSON.value
        )
        await response_task(session, opened, "confirm_scope", due, role=TeamRole.ANALYST.value)
    return str(GlobalID("Incident", str(opened.id)))


async def _review(
    http: httpx.AsyncClient, secret: str, statement: str, stage: str
) -> dict[str, Any]:
    return await result_of(http, secret, REVIEW, {"id": statement, "stage": stage})


async def test_three_levels_need_three_people_none_of_them_the_author(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    incident_id = await _incident(sessions, tenant, Tier.YELLOW)
    settings = _settings(servers)
    worker = create_incidents_worker(settings, burst=False, handle_signals=False)
    async with running_workers(worker), client_of(create_app(settings)) as http:
        _, author = await person_with_key(http, tenant, "林悦")
        _, first = await person_with_key(http, tenant, "周敏")
        _, second = await person_with_key(http, tenant, "王磊")
        drafted = await result_of(
            http,
            author,
            DRAFT,
            {"incident": incident_id, "body": "我们已关注到用户反馈，正在核查。"},
        )
        statement = drafted["id"]
        own = await _review(http, author, statement, "LEVEL_1")
        level_1 = await _review(http, first, statement, "LEVEL_1")
        twice = await _review(http, first, statement, "LEVEL_2")
        level_2 = await _review(http, second, statement, "LEVEL_2")
        service = await _review(http, tenant.keys[Role.RESPONDER], statement, "LEVEL_3")

    assert own["__typename"] == "Forbidden"
    assert "wrote this statement" in own["message"]
    assert level_1 == {"__typename": "Statement", "status": "IN_REVIEW", "reviewLevel": 1}
    assert twice["__typename"] == "Forbidden"
    assert "already approved level_1" in twice["message"]
    assert level_2 == {"__typename": "Statement", "status": "IN_REVIEW", "reviewLevel": 2}
    # A service account's key is no person: it is held to none of this.
    assert service == {"__typename": "Statement", "status": "APPROVED", "reviewLevel": 3}


async def test_only_the_assigned_counsel_approves_the_legal_stage(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    incident_id = await _incident(sessions, tenant, Tier.RED)
    settings = _settings(servers)
    worker = create_incidents_worker(settings, burst=False, handle_signals=False)
    async with running_workers(worker), client_of(create_app(settings)) as http:
        _, author = await person_with_key(http, tenant, "林悦")
        _, reviewer = await person_with_key(http, tenant, "周敏")
        _, outsider = await person_with_key(http, tenant, "王磊")
        _, counsel = await person_with_key(http, tenant, "陈律师")
        assigned = await result_of(
            http,
            tenant.keys[Role.RESPONDER],
            ASSIGN,
            {"incident": incident_id, "role": "LEGAL", "person": "陈律师"},
        )
        drafted = await result_of(
            http, author, DRAFT, {"incident": incident_id, "body": "我们已关注到用户反馈。"}
        )
        statement = drafted["id"]
        await _review(http, reviewer, statement, "LEVEL_1")
        not_counsel = await _review(http, outsider, statement, "LEGAL")
        legal = await _review(http, counsel, statement, "LEGAL")

    assert assigned["team"] == [
        {"role": "LEGAL", "person": "陈律师", "assignee": {"name": "陈律师"}}
    ]
    assert not_counsel["__typename"] == "Forbidden"
    assert "only the incident's legal" in not_counsel["message"]
    assert legal == {"__typename": "Statement", "status": "IN_REVIEW", "reviewLevel": 1}


async def test_the_required_team_of_the_tier_shows_what_is_filled(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    incident_id = await _incident(sessions, tenant, Tier.YELLOW)
    settings = _settings(servers)
    worker = create_incidents_worker(settings, burst=False, handle_signals=False)
    async with running_workers(worker), client_of(create_app(settings)) as http:
        before = await result_of(http, tenant.keys[Role.VIEWER], INCIDENT, {"id": incident_id})
        await result_of(
            http,
            tenant.keys[Role.RESPONDER],
            ASSIGN,
            {"incident": incident_id, "role": "SPOKESPERSON", "person": "林悦"},
        )
        after = await result_of(http, tenant.keys[Role.VIEWER], INCIDENT, {"id": incident_id})

    assert before["requiredRoles"] == [
        {"role": role, "needed": 1, "people": [], "filled": False, "missing": 1}
        for role in ("MONITOR", "ANALYST", "SPOKESPERSON")
    ]
    assert {task["kind"]: task["roleFilled"] for task in before["tasks"]} == {
        "first_statement": False,
        "confirm_scope": False,
    }
    spokesperson = after["requiredRoles"][2]
    assert spokesperson == {
        "role": "SPOKESPERSON",
        "needed": 1,
        "people": ["林悦"],
        "filled": True,
        "missing": 0,
    }
    assert {task["kind"]: task["roleFilled"] for task in after["tasks"]} == {
        "first_statement": True,
        "confirm_scope": False,
    }


REQUEST_LEGAL = """
mutation Legal($input: RequestLegalReviewInput!) {
  requestLegalReview(input: $input) {
    __typename
    ... on RequestLegalReviewPayload { statement { legalRequested status } }
    ... on InvalidTransition { message }
  }
}
"""
REVIEW_ANY = """
mutation Review($id: ID!, $stage: ReviewStage!) {
  reviewStatement(id: $id, stage: $stage, decision: APPROVE) {
    __typename
    ... on Statement { status reviewLevel legalApproved legalRequested }
    ... on InvalidInput { message field }
  }
}
"""
SET_PLAYBOOK = """
mutation Set($input: SetPlaybookInput!) {
  setPlaybook(input: $input) { __typename ... on Playbook { legalReview } }
}
"""


async def test_legal_review_can_be_asked_for_below_red(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    incident_id = await _incident(sessions, tenant, Tier.YELLOW)
    settings = _settings(servers)
    worker = create_incidents_worker(settings, burst=False, handle_signals=False)
    responder = tenant.keys[Role.RESPONDER]
    async with running_workers(worker), client_of(create_app(settings)) as http:
        drafted = await result_of(
            http, responder, DRAFT, {"incident": incident_id, "body": "关于奶粉结块的说明。"}
        )
        statement = drafted["id"]
        unasked = await result_of(http, responder, REVIEW_ANY, {"id": statement, "stage": "LEGAL"})
        asked = await result_of(
            http,
            responder,
            REQUEST_LEGAL,
            {"input": {"statementId": statement, "reason": "涉及赔偿承诺"}},
        )
        for stage in ("LEVEL_1", "LEVEL_2"):
            await result_of(http, responder, REVIEW_ANY, {"id": statement, "stage": stage})
        level_3 = await result_of(
            http, responder, REVIEW_ANY, {"id": statement, "stage": "LEVEL_3"}
        )
        legal = await result_of(http, responder, REVIEW_ANY, {"id": statement, "stage": "LEGAL"})

    assert unasked["__typename"] == "InvalidInput"
    assert unasked["field"] == "stage"
    assert asked == {
        "__typename": "RequestLegalReviewPayload",
        "statement": {"legalRequested": True, "status": "DRAFT"},
    }
    assert level_3["status"] == "IN_REVIEW", "legal approval is still missing"
    assert legal["status"] == "APPROVED"
    assert legal["legalApproved"] is True


async def test_a_playbook_can_require_legal_review_at_any_tier(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    incident_id = await _incident(sessions, tenant, Tier.YELLOW)
    settings = _settings(servers)
    worker = create_incidents_worker(settings, burst=False, handle_signals=False)
    async with running_workers(worker), client_of(create_app(settings)) as http:
        playbook = await result_of(
            http,
            tenant.keys[Role.ADMIN],
            SET_PLAYBOOK,
            {
                "input": {
                    "tier": "YELLOW",
                    "legalReview": True,
                    "team": [{"role": "SPOKESPERSON", "count": 1}],
                    "tasks": [
                        {
                            "kind": "first_statement",
                            "title": "发布首次公开声明",
                            "dueAfterMinutes": 240,
                            "role": "SPOKESPERSON",
                        }
                    ],
                }
            },
        )
        drafted = await result_of(
            http,
            tenant.keys[Role.RESPONDER],
            DRAFT,
            {"incident": incident_id, "body": "关于奶粉结块的说明。"},
        )
        state = await result_of(
            http,
            tenant.keys[Role.VIEWER],
            "query($id: ID!) { node(id: $id) { ... on Statement { legalRequested } } }",
            {"id": drafted["id"]},
        )
    assert playbook == {"__typename": "Playbook", "legalReview": True}
    assert state == {"legalRequested": True}


CLOSE = """
mutation Close($id: ID!) {
  transitionIncident(id: $id, toStatus: CLOSED, reason: "处置完毕") {
    __typename ... on Incident { status } ... on Forbidden { message }
  }
}
"""
DRAFT_OR_WHY = """
mutation Draft($incident: ID!, $body: String!) {
  draftStatement(incidentId: $incident, channel: WEIBO, body: $body) {
    __typename ... on Statement { status } ... on Forbidden { message }
  }
}
"""


async def test_the_spokesperson_drafts_and_the_commander_closes(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "acme")
    drafting = await _incident(sessions, tenant, Tier.YELLOW)
    async with transaction(sessions) as session:
        resolved = await incident(
            session,
            tenant.org,
            await watchlist(session, tenant.org, "物流"),
            status=IncidentStatus.RESOLVED,
        )
    closing = str(GlobalID("Incident", str(resolved.id)))
    settings = _settings(servers)
    worker = create_incidents_worker(settings, burst=False, handle_signals=False)
    # Naming a commander is an admin's (or a commander's) to do; any responder assigns the rest.
    admin, responder = tenant.keys[Role.ADMIN], tenant.keys[Role.RESPONDER]
    async with running_workers(worker), client_of(create_app(settings)) as http:
        _, spokesperson = await person_with_key(http, tenant, "林悦")
        _, commander = await person_with_key(http, tenant, "周敏")
        _, other = await person_with_key(http, tenant, "王磊")
        for key, incident_id, role, name in (
            (responder, drafting, "SPOKESPERSON", "林悦"),
            (admin, closing, "COMMANDER", "周敏"),
        ):
            await result_of(
                http, key, ASSIGN, {"incident": incident_id, "role": role, "person": name}
            )
        body = "关于奶粉结块的说明。"
        by_other = await result_of(http, other, DRAFT_OR_WHY, {"incident": drafting, "body": body})
        by_spokesperson = await result_of(
            http, spokesperson, DRAFT_OR_WHY, {"incident": drafting, "body": body}
        )
        closed_by_other = await result_of(http, other, CLOSE, {"id": closing})
        closed = await result_of(http, commander, CLOSE, {"id": closing})

    assert by_other["__typename"] == "Forbidden"
    assert "only the incident's spokesperson" in by_other["message"]
    assert by_spokesperson == {"__typename": "Statement", "status": "DRAFT"}
    assert closed_by_other["__typename"] == "Forbidden"
    assert "only the incident's commander" in closed_by_other["message"]
    assert closed == {"__typename": "Incident", "status": "CLOSED"}
