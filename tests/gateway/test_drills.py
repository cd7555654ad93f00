"""Drills end to end: startDrill → the analysis worker → posts as ingest stores them → the
real analysis, incidents and notify workers → endDrill's score card.

A drill at high speed must reach an incident marked `drill`, never the organization's real
watchlist on the same brand; lists and the dashboard leave it out unless asked; notify
makes no delivery in SUPPRESS mode and marks every one 【演练】 in LABEL mode.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from crisiswatch.drill_stream import script, stamped
from gateway.tests.conftest import gid
from libs.contracts.drills import SCENARIOS
from libs.contracts.enums import DrillScenario, EventType, Role
from libs.contracts.messages import MentionIngested
from libs.contracts.response import IntegrationEventEmitted
from libs.database.engine import transaction
from libs.database.tables import Drill, Incident, IntegrationEvent, WebhookDelivery
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch
from services.notify.chat.renderers import build_card
from tests.builders import Tenant, read_all
from tests.fixtures.workers import handled, settled
from tests.gateway.builders import System, tenant, watchlist

REFUSED = "... on Refusal { message } ... on InvalidInput { field }"
START = f"""
mutation($input: StartDrillInput!) {{
  startDrill(input: $input) {{
    __typename ... on Drill {{ id databaseId state delivery watchlist {{ databaseId name }} }}
    {REFUSED}
  }}
}}
"""
END = """
mutation($input: EndDrillInput!) {
  endDrill(input: $input) {
    __typename
    ... on Drill {
      state endedAt
      scoreCard {
        incidentsOpened secondsToAcknowledge deadlinesMet deadlinesMissed
        statementsThroughReview participants document
        deadlines { kind allowedSeconds doneAfterSeconds outcome }
      }
    }
    ... on Refusal { message }
  }
}
"""
ACKNOWLEDGE = """
mutation($id: ID!) { acknowledgeIncident(id: $id) { __typename ... on Incident { status } } }
"""
INCIDENTS = """
query($filter: IncidentFilter) {
  incidents(first: 10, filter: $filter) { nodes { databaseId drill watchlist { databaseId } } }
}
"""
TASKS = """
query($filter: TaskFilter) { tasks(first: 50, filter: $filter) { nodes { kind drill } } }
"""
DASHBOARD = """
query($since: DateTime!, $drills: Boolean!) {
  dashboard(since: $since, includeDrills: $drills) { incidents { detected } }
}
"""
POLICY = """
mutation { setWebhookPolicy(allowPrivateDestinations: true) { __typename } }
"""
HOOK = """
mutation($input: CreateWebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { __typename ... on Refusal { message } }
}
"""


async def _start(system: System, owner: Tenant, **given: Any) -> dict[str, Any]:
    return await system.mutate(owner, Role.RESPONDER, START, {"input": given})


async def _play(system: System, owner: Tenant, drill_id: str, speed: float) -> None:
    """Store the product-safety drill's history and wave as ingest does, and analyse them."""
    now = datetime.now(UTC)
    laid_out = script(DrillScenario.PRODUCT_SAFETY, drill_id, now)
    wave = [stamped(p, now + timedelta(seconds=at / speed)) for at, p in laid_out.live if at < 120]
    for posts in (laid_out.history, wave):
        async with transaction(system.sessions) as session:
            stored = await store_batch(
                session, owner.org.id, {i: MentionIn.model_validate(p) for i, p in enumerate(posts)}
            )
        ingested = MentionIngested(organization_id=owner.org.id, mention_ids=stored.new_ids)
        await handled(system.redis, ingested)
    await settled(system.sessions, system.redis, owner.org.id)


async def _hook(system: System, owner: Tenant) -> None:
    """Register an endpoint in TEST-NET-2 (never routed): nothing could reach it anyway."""
    await system.mutate(owner, Role.ADMIN, POLICY)
    endpoint = {
        "name": "工单系统",
        "url": "https://198.51.100.7/in?sig=abcdefghijklmnopq",
        "eventTypes": ["INCIDENT_OPENED", "INCIDENT_STATUS_CHANGED"],
    }
    made = await system.mutate(owner, Role.ADMIN, HOOK, {"input": endpoint})
    assert made["__typename"] == "WebhookEndpointCreated", made


async def _incidents(system: System, owner: Tenant, **given: Any) -> list[dict[str, Any]]:
    body = await system.post(owner.auth(Role.VIEWER), INCIDENTS, {"filter": given or None})
    assert "errors" not in body, body
    nodes: list[dict[str, Any]] = body["data"]["incidents"]["nodes"]
    return nodes


async def _detected(system: System, owner: Tenant, drills: bool) -> int:
    since = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    body = await system.post(owner.auth(Role.VIEWER), DASHBOARD, {"since": since, "drills": drills})
    assert "errors" not in body, body
    return int(body["data"]["dashboard"]["incidents"]["detected"])


async def test_a_suppressed_drill_opens_a_drill_incident_sends_nothing_and_ends_with_its_card(
    system: System,
) -> None:
    owner = await tenant(system, "drill")
    await _hook(system, owner)
    brand = SCENARIOS[DrillScenario.PRODUCT_SAFETY]
    real = await watchlist(system, owner, brand.brand, list(brand.keywords))
    started = await _start(system, owner, scenario="PRODUCT_SAFETY", speed=3600)
    assert started["__typename"] == "Drill" and started["state"] == "RUNNING", started
    assert started["delivery"] == "SUPPRESS" and started["watchlist"]["name"].startswith("演练·")
    drill_watchlist = started["watchlist"]["databaseId"]

    await _play(system, owner, started["databaseId"], speed=3600)

    # The drill reached its own watchlist only: the real one on the same brand opened nothing.
    async with system.sessions() as session:
        opened = (
            await session.exec(select(Incident).where(Incident.organization_id == owner.org.id))
        ).all()
    assert [(str(i.watchlist_id), i.drill) for i in opened] == [(drill_watchlist, True)]
    assert opened[0].watchlist_id != real
    assert await _incidents(system, owner) == []
    [shown] = await _incidents(system, owner, includeDrills=True)
    assert shown["drill"] is True and shown["databaseId"] == str(opened[0].id)
    assert await _detected(system, owner, drills=False) == 0
    assert await _detected(system, owner, drills=True) == 1
    # Its tasks are a drill's too, and left out of task lists unless asked for.
    hidden = await system.post(owner.auth(Role.VIEWER), TASKS, {"filter": None})
    assert hidden["data"]["tasks"]["nodes"] == []
    asked = await system.post(owner.auth(Role.VIEWER), TASKS, {"filter": {"includeDrills": True}})
    drill_tasks = asked["data"]["tasks"]["nodes"]
    assert drill_tasks and all(t["drill"] is True for t in drill_tasks)

    await system.mutate(owner, Role.RESPONDER, ACKNOWLEDGE, {"id": gid("Incident", opened[0].id)})
    await settled(system.sessions, system.redis, owner.org.id)
    events = await read_all(
        system.sessions,
        select(IntegrationEvent.type).where(col(IntegrationEvent.organization_id) == owner.org.id),
    )
    assert EventType.INCIDENT_OPENED.value in events
    deliveries = await read_all(
        system.sessions,
        select(WebhookDelivery.id).where(col(WebhookDelivery.organization_id) == owner.org.id),
    )
    assert deliveries == []

    ended = await system.mutate(owner, Role.RESPONDER, END, {"input": {"id": started["id"]}})
    assert ended["__typename"] == "Drill" and ended["state"] == "ENDED", ended
    card = ended["scoreCard"]
    assert card["incidentsOpened"] == 1 and card["deadlines"], card
    assert card["secondsToAcknowledge"] > 0 and card["participants"]
    acknowledge = next(d for d in card["deadlines"] if d["kind"] == "acknowledge")
    assert acknowledge["doneAfterSeconds"] is not None
    expected = (
        "met" if acknowledge["doneAfterSeconds"] <= acknowledge["allowedSeconds"] else "missed"
    )
    assert acknowledge["outcome"] == expected
    assert card["deadlinesMet"] + card["deadlinesMissed"] >= 1
    async with system.sessions() as session:
        stored = await session.get(Drill, uuid.UUID(started["databaseId"]))
    assert stored is not None and stored.score_card == card["document"]
    again = await system.mutate(owner, Role.RESPONDER, END, {"input": {"id": started["id"]}})
    assert again["scoreCard"]["document"] == card["document"]


async def test_a_labelled_drill_sends_every_delivery_marked_as_a_drill(system: System) -> None:
    owner = await tenant(system, "drill-label")
    await _hook(system, owner)
    started = await _start(system, owner, scenario="PRODUCT_SAFETY", speed=600, delivery="LABEL")
    assert started["__typename"] == "Drill", started

    await _play(system, owner, started["databaseId"], speed=600)

    deliveries = await read_all(
        system.sessions,
        select(WebhookDelivery).where(col(WebhookDelivery.organization_id) == owner.org.id),
    )
    assert deliveries, "a labelled drill's events are delivered"
    for delivery in deliveries:
        data = delivery.payload["data"]
        assert data["drill"] is True and data["label"] == "【演练】"
        assert data["incident"]["drill"] is True
        event = IntegrationEventEmitted(
            organization_id=owner.org.id,
            event_id=delivery.event_id,
            type=EventType(delivery.event_type),
            occurred_at=datetime.fromisoformat(delivery.payload["timestamp"]),
            payload=data,
        )
        assert build_card(event).title.startswith("【演练】")


async def test_start_drill_refuses_bad_input_naming_the_field(system: System) -> None:
    owner = await tenant(system, "drill-refused")
    slow = await _start(system, owner, scenario="RUMOUR", speed=0.5)
    assert slow == {"__typename": "InvalidInput", "message": slow["message"], "field": "speed"}
    nothing = await _start(system, owner, speed=60)
    assert nothing["__typename"] == "InvalidInput" and nothing["field"] == "scenario"
    unknown = await _start(system, owner, replayIncidentId=gid("Incident", uuid.uuid4()))
    assert unknown["__typename"] == "NotFound", unknown
    mixed = await _start(
        system, owner, scenario="RUMOUR", replayIncidentId=gid("Incident", uuid.uuid4())
    )
    assert mixed["__typename"] == "InvalidInput" and mixed["field"] == "replayIncidentId"
    assert (
        await read_all(
            system.sessions, select(Drill.id).where(Drill.organization_id == owner.org.id)
        )
        == []
    )
