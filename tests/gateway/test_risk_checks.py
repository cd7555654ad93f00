"""The daily risk check end to end: the incidents worker's scheduler → GraphQL and notify.

A second incidents worker with the risk check on (from hour 0, so a check is due whenever
this runs) checks every organization; the package's notify worker fans the event out to
the endpoints subscribed to it; the gateway reads each check only to its own organization.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select

from gateway.tests.conftest import gid
from libs.contracts.enums import EndpointKind, EventType, Role
from libs.database.engine import transaction
from libs.database.tables import Organization, RiskCheck, WebhookDelivery
from services.incidents.config import IncidentsSettings
from services.incidents.worker import create_worker
from services.notify.chat.chat import render
from services.notify.delivery.delivery import Attempt, event_of
from tests.builders import Tenant, read_all
from tests.fixtures.workers import running_workers, settled
from tests.gateway.builders import System
from tests.gateway.test_webhook_mutations import send
from tests.risk_day import RiskDay, findings, seed_risk_day

CHECKS = """query($first: Int) { riskChecks(first: $first) { edges { node {
  id databaseId day timeZone checkedAt since
  watchlists { name tier kind watchlist { databaseId name } }
  spikes { name tier kind signals lastAt reasons watchlist { databaseId } }
  negativeStories { title negative mentions story { databaseId title } }
  risingTerms { term mentions previous }
  openIncidents { title tier status incident { databaseId } }
  openIncidentCount
  overdueTasks { title dueAt incident { databaseId } }
  overdueTaskCount
} } } }"""
ONE = "query($id: ID!) { riskCheck(id: $id) { databaseId openIncidentCount } }"


async def _seed(system: System, *owners: Tenant) -> dict[uuid.UUID, RiskDay]:
    seeded = {}
    async with transaction(system.sessions) as session:
        for owner in owners:
            org = await session.get(Organization, owner.org.id)
            assert org is not None
            seeded[org.id] = await seed_risk_day(session, org, datetime.now(UTC))
    return seeded


async def _endpoints(system: System, owner: Tenant) -> None:
    """Subscribe a standard endpoint and a WeCom bot to the daily check (TEST-NET-2, unrouted)."""
    for name, kind, url in (
        ("工单系统", EndpointKind.STANDARD, "https://198.51.100.7/in"),
        ("值班群", EndpointKind.WECOM, "https://198.51.100.7/cgi-bin/webhook/send?key=k1"),
    ):
        variables = {
            "input": {
                "name": name,
                "url": url,
                "kind": kind.name,
                "eventTypes": ["RISK_CHECK_COMPLETED"],
            }
        }
        created = await send(system, owner, "createWebhookEndpoint", variables)
        assert created["__typename"] == "WebhookEndpointCreated", created


async def _run_checks(system: System, *owners: Tenant) -> None:
    """Run an incidents worker with the check on until every owner has one."""
    own = IncidentsSettings.extending(system.settings).model_copy(
        update={
            "risk_check_enabled": True,
            "risk_check_hour": 0,
            "risk_check_poll_seconds": 0.1,
            "deadline_check_seconds": 3600.0,
        }
    )
    wanted = {owner.org.id for owner in owners}
    async with running_workers(create_worker(own, handle_signals=False)):
        for _ in range(300):
            stored = await read_all(system.sessions, select(RiskCheck.organization_id))
            if wanted <= set(stored):
                break
            await asyncio.sleep(0.1)
    for owner in owners:
        await settled(system.sessions, system.redis, owner.org.id)


def _expected_graphql(day: RiskDay) -> dict[str, Any]:
    expected = day.expected()
    return {
        "watchlists": [
            {
                "name": item["name"],
                "tier": item["tier"].upper(),
                "kind": item["kind"].upper(),
                "watchlist": {"databaseId": item["watchlist_id"], "name": item["name"]},
            }
            for item in expected["watchlists"]
        ],
        "negativeStories": [
            {
                "title": item["title"],
                "negative": item["negative"],
                "mentions": item["mentions"],
                "story": {"databaseId": item["story_id"], "title": item["title"]},
            }
            for item in expected["negative_stories"]
        ],
        "risingTerms": expected["rising_terms"],
        "openIncidents": [{"databaseId": id_} for id_ in expected["open_incidents"]],
        "openIncidentCount": expected["open_incident_total"],
        "overdueTasks": [str(day.overdue_task)],
        "overdueTaskCount": expected["overdue_task_total"],
    }


async def test_the_daily_check_is_read_by_its_own_organization_and_sent_to_its_endpoints(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    seeded = await _seed(system, acme, rival)
    await _endpoints(system, acme)
    await _run_checks(system, acme, rival)

    body = await system.post(acme.auth(Role.VIEWER), CHECKS, {"first": 10})
    assert "errors" not in body, body
    [edge] = body["data"]["riskChecks"]["edges"]
    node = edge["node"]
    assert node["timeZone"] == "Asia/Shanghai"
    assert node["spikes"][0]["tier"] == "RED" and node["spikes"][0]["signals"] == 2
    assert [spike["kind"] for spike in node["spikes"]] == ["OWN_BRAND", "COMPETITOR", "OWN_BRAND"]
    assert [spike["watchlist"]["databaseId"] for spike in node["spikes"]] == [
        str(id_) for id_ in seeded[acme.org.id].spikes
    ]
    read = {
        "watchlists": node["watchlists"],
        "negativeStories": node["negativeStories"],
        "risingTerms": node["risingTerms"],
        "openIncidents": [item["incident"] for item in node["openIncidents"]],
        "openIncidentCount": node["openIncidentCount"],
        "overdueTasks": [item["incident"]["databaseId"] for item in node["overdueTasks"]],
        "overdueTaskCount": node["overdueTaskCount"],
    }
    expected = _expected_graphql(seeded[acme.org.id])
    # An overdue task links to its incident, the first (red) one.
    expected["overdueTasks"] = [str(seeded[acme.org.id].incidents[0])]
    assert read == expected

    # By id: the owner reads it, the other organization gets null.
    check_id = gid("RiskCheck", node["databaseId"])
    mine = await system.post(acme.auth(Role.VIEWER), ONE, {"id": check_id})
    assert mine["data"]["riskCheck"] == {"databaseId": node["databaseId"], "openIncidentCount": 2}
    theirs = await system.post(rival.auth(Role.VIEWER), ONE, {"id": check_id})
    assert theirs["data"] == {"riskCheck": None}
    listed = await system.post(rival.auth(Role.VIEWER), CHECKS, {"first": 10})
    [rival_edge] = listed["data"]["riskChecks"]["edges"]
    assert rival_edge["node"]["databaseId"] != node["databaseId"]
    assert node["databaseId"] not in str(listed)

    # Notify: one delivery per subscribed endpoint, the report as the body's data.
    deliveries = await read_all(
        system.sessions,
        select(WebhookDelivery).where(col(WebhookDelivery.organization_id) == acme.org.id),
    )
    assert sorted(d.event_type for d in deliveries) == [EventType.RISK_CHECK_COMPLETED.value] * 2
    assert {d.event_id for d in deliveries} == {deliveries[0].event_id}
    data = deliveries[0].payload["data"]
    assert data["check_id"] == node["databaseId"]
    assert findings(data) == seeded[acme.org.id].expected()
    rival_deliveries = await read_all(
        system.sessions,
        select(WebhookDelivery).where(col(WebhookDelivery.organization_id) == rival.org.id),
    )
    assert rival_deliveries == [], "rival subscribed nothing"

    # The WeCom bot's card, rendered as the dispatcher renders it from the stored delivery.
    attempt = Attempt(
        delivery_id=deliveries[0].id,
        organization_id=acme.org.id,
        endpoint_id=deliveries[0].endpoint_id,
        event_id=deliveries[0].event_id,
        event_type=deliveries[0].event_type,
        kind=EndpointKind.WECOM.value,
        url="https://198.51.100.7/cgi-bin/webhook/send?key=k1",
        body=deliveries[0].payload,
        secrets=[],
        lease=datetime.now(UTC),
    )
    card = render(
        EndpointKind.WECOM, attempt.url, None, event_of(attempt), datetime.now(UTC)
    ).json_body["markdown"]["content"]
    assert f"每日风险排查（{node['day']}）" in card
    assert "预警中的关注主题：红色「奶粉」；橙色「竞品·澳优」（竞品）；黄色「门店」" in card
    assert (
        "24 小时新增预警：「奶粉」红色预警 2 次；"
        "「竞品·澳优」（竞品）橙色预警 1 次；「门店」黄色预警 1 次" in card
    )
    assert "负面热点：「禾岚奶粉宝宝腹泻」负面 4/5 条；「门店服务差」负面 2/2 条" in card
    assert "上升热词：新品 3（前日 0）；腹泻 4（前日 1）" in card
    assert "超时任务：1 项" in card
    assert "发布首次公开声明" in card
