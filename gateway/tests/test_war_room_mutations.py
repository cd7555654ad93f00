"""War-room and webhook mutations: what each sends, how each answer maps, who may send it.

Stand-in incidents and notify workers answer on the real queues (see `stand_ins`), so these
tests pin the gateway's half of each command's contract.
"""

from typing import Any

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.conftest import GraphQL, gid, queued_for
from gateway.tests.stand_ins import stand_ins
from gateway.tests.war_room_ops import OPS, Seed, seed
from libs.contracts.enums import Role
from libs.contracts.messages import EVENTS_QUEUE, INCIDENTS_QUEUE, CommandResult
from libs.contracts.notify import CreateWebhookEndpoint, RotateWebhookSecret
from libs.contracts.response import (
    CompleteTask,
    DraftStatement,
    SetKeyFacts,
    TransitionIncident,
)
from libs.database.tables import WebhookEndpoint
from tests.builders import Tenant
from tests.fixtures.servers import Servers


async def run(gql: GraphQL, tenant: Tenant, role: Role, name: str, at: Seed) -> dict[str, Any]:
    """Send mutation `name` for `at` with `role`'s key and return its result object."""
    body = await gql(tenant.auth(role), OPS[name].document, OPS[name].variables(at))
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][name]
    return result


async def test_incident_mutations_change_the_incident_and_read_it_back(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    async with stand_ins(servers) as fake:
        assigned = await run(gql, acme, Role.RESPONDER, "assignRole", at)
        raised = await run(gql, acme, Role.RESPONDER, "changeIncidentTier", at)
        facts = await run(gql, acme, Role.RESPONDER, "setKeyFacts", at)
        done = await run(gql, acme, Role.RESPONDER, "completeTask", at)
        snoozed = await run(gql, acme, Role.RESPONDER, "snoozeWatchlist", at)
        merged = await run(gql, acme, Role.RESPONDER, "transitionIncident", at)
        playbook = await run(gql, acme, Role.ADMIN, "setPlaybook", at)
    assert assigned["team"] == [{"role": "SPOKESPERSON", "person": "李娜"}]
    assert raised["tier"] == "RED"
    assert facts["keyFacts"] == [{"label": "涉事批次", "value": "20250301"}]
    assert done["status"] == "DONE" and done["completedBy"].startswith("api_key:")
    assert done["databaseId"] == str(at.task)
    assert snoozed["reason"] == "促销活动期间误报"
    assert snoozed["until"] == "2099-01-01T00:00:00+00:00"
    assert merged["__typename"] == "Incident"
    assert merged["status"] == "MERGED" and merged["statusReason"] == "与物流事件为同一来源"
    assert merged["mergedInto"] == {"databaseId": str(at.other_incident)}
    assert playbook == {
        "__typename": "Playbook",
        "tier": "RED",
        "crisisType": "DATA_LEAK",
        "team": [{"role": "COMMANDER", "count": 1}, {"role": "LEGAL", "count": 2}],
        "tasks": [
            {"kind": "legal_review", "dueAfterMinutes": 60, "role": "LEGAL", "channel": "WEBSITE"}
        ],
    }
    transition = next(c for c in fake.received if isinstance(c, TransitionIncident))
    assert transition.organization_id == acme.org.id
    assert transition.incident_id == at.incident
    assert transition.merge_into_id == at.other_incident


async def test_statement_mutations_follow_a_statement_to_publication(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    async with stand_ins(servers) as fake:
        drafted = await run(gql, acme, Role.RESPONDER, "draftStatement", at)
        revised = await run(gql, acme, Role.RESPONDER, "reviseStatement", at)
        reviewed = await run(gql, acme, Role.RESPONDER, "reviewStatement", at)
        published = await run(gql, acme, Role.RESPONDER, "publishStatement", at)
    assert drafted["status"] == "DRAFT" and drafted["body"] == "涉事批次 20250301 已全部下架送检。"
    assert drafted["databaseId"] not in (str(at.statement), None)
    assert revised["body"] == "修订后的说明" and revised["reviewLevel"] == 0
    assert reviewed["status"] == "IN_REVIEW" and reviewed["reviewLevel"] == 1
    assert reviewed["reviews"] == [{"stage": "LEVEL_1", "decision": "APPROVE", "note": "措辞可以"}]
    assert published["status"] == "PUBLISHED"
    assert published["publishedUrl"] == "https://weibo.com/helan/1"
    # A time without an offset is read as UTC.
    assert published["publishedAt"] == "2025-03-15T11:00:00+00:00"
    draft = next(c for c in fake.received if isinstance(c, DraftStatement))
    assert draft.channel.value == "wechat"


async def test_aftercare_mutations_write_the_review_and_keep_users_masked(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    async with stand_ins(servers):
        updated = await run(gql, acme, Role.RESPONDER, "updateReview", at)
        completed = await run(gql, acme, Role.RESPONDER, "completeReview", at)
        added = await run(gql, acme, Role.RESPONDER, "addAffectedUser", at)
        followed = await run(gql, acme, Role.RESPONDER, "completeFollowUp", at)
        filed = await run(gql, acme, Role.RESPONDER, "fileReply", at)
    assert updated["rootCause"] == "质检漏检" and updated["status"] == "draft"
    assert updated["improvements"] == [{"action": "增加批次抽检", "owner": "品控部"}]
    assert completed["status"] == "completed" and completed["completedBy"].startswith("api_key:")
    assert added == {
        "__typename": "AffectedUser",
        "nameMasked": "欧阳**",
        "contactKind": "PHONE",
        "contactMasked": "139****4321",
        "followUps": [{"kind": "FOLLOW_UP", "dueAt": "2025-03-16T08:00:00+00:00"}],
    }
    assert followed == {
        "__typename": "FollowUp",
        "databaseId": str(at.follow_up),
        "status": "DONE",
        "note": "已电话回访",
    }
    assert filed["category"] == "产品质量" and filed["reply"].startswith("请保留批次信息")


async def test_webhook_mutations_manage_endpoints_and_show_a_secret_only_once(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    async with stand_ins(servers) as fake:
        created = await run(gql, acme, Role.ADMIN, "createWebhookEndpoint", at)
        updated = await run(gql, acme, Role.ADMIN, "updateWebhookEndpoint", at)
        rotated = await run(gql, acme, Role.ADMIN, "rotateWebhookSecret", at)
        redelivered = await run(gql, acme, Role.ADMIN, "redeliverWebhook", at)
        policy = await run(gql, acme, Role.ADMIN, "setWebhookPolicy", at)
        deleted = await run(gql, acme, Role.ADMIN, "deleteWebhookEndpoint", at)
        listed = await gql(
            acme.auth(Role.ADMIN),
            "{ webhookEndpoints { name } webhookPolicy { allowPrivateDestinations } }",
        )
    assert created["secret"].startswith("whsec_")
    assert created["endpoint"]["url"] == "https://hooks.example.com/in?sig=***nopq"
    assert created["endpoint"]["eventTypes"] == ["INCIDENT_OPENED", "STATEMENT_PUBLISHED"]
    assert updated["name"] == "新工单系统" and updated["eventTypes"] == ["TASK_OVERDUE"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert rotated["previousSecretExpiresAt"] is not None
    assert rotated["endpoint"] == {"databaseId": str(at.endpoint)}
    assert redelivered["status"] == "pending" and redelivered["nextAttemptAt"] is not None
    assert policy["allowPrivateDestinations"] is True
    assert deleted == {
        "__typename": "WebhookEndpointDeleted",
        "deletedId": gid("WebhookEndpoint", at.endpoint),
        "databaseId": str(at.endpoint),
    }
    assert listed["data"] == {
        "webhookEndpoints": [{"name": "工单系统"}],
        "webhookPolicy": {"allowPrivateDestinations": True},
    }
    rotation = next(c for c in fake.received if isinstance(c, RotateWebhookSecret))
    assert rotation.overlap_hours == 48
    create = next(c for c in fake.received if isinstance(c, CreateWebhookEndpoint))
    assert create.url == "https://hooks.example.com/in?sig=abcdefghijklmnopq"
    async with sessions() as session:
        remaining = (await session.exec(select(col(WebhookEndpoint.id)))).all()
    assert at.endpoint not in remaining


# Each mutation is refused once; the codes rotate so every mapping is exercised many times.
REFUSALS = [
    ("NotFound", "NotFound", {}),
    ("InvalidTransition", "InvalidTransition", {"currentStatus": "ACKNOWLEDGED"}),
    ("Invalid", "InvalidInput", {"field": "reason"}),
    ("Conflict", "Conflict", {"field": "channel"}),
]
CASES = [
    pytest.param(name, *REFUSALS[i % len(REFUSALS)], id=f"{name}-{REFUSALS[i % 4][0]}")
    for i, name in enumerate(OPS)
]


@pytest.mark.parametrize(("name", "code", "typename", "extra"), CASES)
async def test_each_refusal_maps_to_its_typed_result(
    servers: Servers,
    gql: GraphQL,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    name: str,
    code: str,
    typename: str,
    extra: dict[str, Any],
) -> None:
    at = await seed(sessions, acme.org.id)
    mutation = OPS[name]
    field = extra.get("field")
    async with stand_ins(servers) as fake:
        fake.refuse(mutation.command, CommandResult.failure(code, f"refused: {code}", field))
        result = await run(gql, acme, Role.ADMIN, name, at)
    expected: dict[str, Any] = {"__typename": typename, "message": f"refused: {code}", **extra}
    if typename == "InvalidTransition" and not mutation.reports_status:
        expected["currentStatus"] = None
    assert result == expected
    assert [type(c) for c in fake.received] == [mutation.command]


async def test_service_field_names_are_renamed_to_the_arguments_clients_sent(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    async with stand_ins(servers) as fake:
        fake.refuse(CompleteTask, CommandResult.failure("Invalid", "bad task", "task_id"))
        result = await run(gql, acme, Role.RESPONDER, "completeTask", at)
    assert result == {"__typename": "InvalidInput", "message": "bad task", "field": "id"}


async def test_an_unknown_refusal_code_is_an_error_naming_the_service(
    servers: Servers, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    async with stand_ins(servers) as fake:
        fake.refuse(SetKeyFacts, CommandResult.failure("Exploded", "disk full"))
        body = await gql(
            acme.auth(Role.RESPONDER), OPS["setKeyFacts"].document, OPS["setKeyFacts"].variables(at)
        )
    assert body["errors"][0]["message"] == "The incidents service refused the command: disk full"


async def test_input_the_contract_rejects_is_refused_naming_the_field_without_sending(
    gql: GraphQL, redis: ArqRedis, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    responder = acme.auth(Role.RESPONDER)
    blank_reason = await gql(
        responder,
        OPS["changeIncidentTier"].document,
        {**OPS["changeIncidentTier"].variables(at), "reason": ""},
    )
    blank_fact = await gql(
        responder,
        OPS["setKeyFacts"].document,
        {
            "id": gid("Incident", at.incident),
            "facts": [{"label": "批次", "value": "1"}, {"label": "原因", "value": ""}],
        },
    )
    bad_task = await gql(
        acme.auth(Role.ADMIN),
        OPS["setPlaybook"].document,
        {
            "input": {
                "tier": "RED",
                "team": [{"role": "LEGAL"}],
                "tasks": [
                    {"kind": "Legal Review", "title": "法务", "dueAfterMinutes": 5, "role": "LEGAL"}
                ],
            }
        },
    )
    assert blank_reason["data"]["changeIncidentTier"]["field"] == "reason"
    assert blank_fact["data"]["setKeyFacts"]["field"] == "facts[1].value"
    assert bad_task["data"]["setPlaybook"]["field"] == "tasks[0].kind"
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []


@pytest.mark.parametrize("name", list(OPS))
async def test_viewers_are_forbidden_and_nothing_is_sent(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    name: str,
) -> None:
    at = await seed(sessions, acme.org.id)
    result = await run(gql, acme, Role.VIEWER, name, at)
    assert result["__typename"] == "Forbidden"
    assert "`viewer`" in result["message"]
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []
    assert await queued_for(redis, EVENTS_QUEUE, acme) == []


@pytest.mark.parametrize("name", [name for name, o in OPS.items() if o.admin_only])
async def test_playbooks_and_webhooks_need_an_admin_key(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    name: str,
) -> None:
    at = await seed(sessions, acme.org.id)
    result = await run(gql, acme, Role.RESPONDER, name, at)
    assert result["__typename"] == "Forbidden"
    assert result["message"].startswith("A key with role `responder` may not")
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []
    assert await queued_for(redis, EVENTS_QUEUE, acme) == []


@pytest.mark.parametrize("name", [name for name, o in OPS.items() if o.takes_ids])
async def test_another_organizations_ids_are_not_found_without_sending(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    rival: Tenant,
    name: str,
) -> None:
    at = await seed(sessions, acme.org.id)
    result = await run(gql, rival, Role.ADMIN, name, at)
    assert result["__typename"] == "NotFound"
    assert await queued_for(redis, INCIDENTS_QUEUE, rival) == []
    assert await queued_for(redis, EVENTS_QUEUE, rival) == []


async def test_merging_into_another_organizations_incident_is_refused_on_the_field(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    rival: Tenant,
) -> None:
    mine = await seed(sessions, acme.org.id)
    theirs = await seed(sessions, rival.org.id)
    result = await gql(
        acme.auth(Role.RESPONDER),
        OPS["transitionIncident"].document,
        {**OPS["transitionIncident"].variables(mine), "into": gid("Incident", theirs.incident)},
    )
    refused = result["data"]["transitionIncident"]
    assert refused["__typename"] == "InvalidInput" and refused["field"] == "mergeIntoId"
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []
