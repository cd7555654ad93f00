"""The typed fields read what the services stored, as the strings and JSON they replace did.

Statements are flagged, reviews written and deliveries logged by the real workers, so each
enum value and flag shape is checked against what a service really writes.
"""

import uuid
from typing import Any

from sqlmodel import col, select

from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import OPS
from libs.contracts.enums import Role
from libs.database.tables import WebhookDelivery
from tests.gateway.builders import System, open_incident, war_room, watchlist

STATEMENT = """query($id: ID!) { node(id: $id) { ... on Statement {
  flags consistencyFlags { kind channel expected found label quantity unit } } } }"""
REVIEW = """mutation($input: ReviewUpdateInput!) { reviewUpdate(input: $input) {
  __typename ... on ReviewReport { status state improvements { status state } } } }"""
ENDPOINT = """mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) {
  __typename ... on WebhookEndpointCreated { endpoint { databaseId status state } } } }"""
RESEND = """mutation($input: WebhookDeliveryResendInput!) { webhookDeliveryResend(input: $input) {
  __typename ... on WebhookDelivery { status state } } }"""


async def test_consistency_flags_read_the_stored_flags_field_by_field(system: System) -> None:
    room = await war_room(system)
    incident = gid("Incident", room.incident)
    facts = [{"label": "涉事批次", "value": "20250301"}, {"label": "召回数量", "value": "3批次"}]
    await system.mutate(
        room.tenant,
        Role.RESPONDER,
        OPS["incidentSetKeyFacts"].document,
        {"input": {"id": incident, "facts": facts}},
    )
    drafts = {
        "WECHAT": "涉事批次 20250301 共 3批次 已全部下架送检。",
        "WEIBO": "涉事批次 20250301 共 4批次 已下架。",
    }
    drafted = [
        await system.mutate(
            room.tenant,
            Role.RESPONDER,
            OPS["statementDraft"].document,
            {"input": {"incidentId": incident, "channel": channel, "body": body}},
        )
        for channel, body in drafts.items()
    ]
    read = await system.post(
        room.tenant.auth(Role.VIEWER), STATEMENT, {"id": gid("Statement", drafted[1]["databaseId"])}
    )

    statement = read["data"]["node"]
    typed: list[dict[str, Any]] = statement["consistencyFlags"]
    assert typed, "the Weibo draft contradicts the WeChat one and misses a fact"
    # Each typed flag is the stored flag, its kind and channel as enums, absent keys null.
    assert typed == [
        {
            "kind": flag["kind"].upper(),
            "channel": flag["channel"].upper(),
            "expected": flag["expected"],
            "found": flag.get("found"),
            "label": flag.get("label"),
            "quantity": flag.get("quantity"),
            "unit": flag.get("unit"),
        }
        for flag in statement["flags"]
    ]
    assert {flag["kind"] for flag in typed} == {"MISSING_FACT", "CONFLICT"}


async def test_review_and_webhook_states_are_the_stored_statuses_as_enums(system: System) -> None:
    room = await war_room(system)
    review = await system.mutate(
        room.tenant,
        Role.RESPONDER,
        REVIEW,
        {
            "input": {
                "incidentId": gid("Incident", room.incident),
                "rootCause": "质检漏检",
                "improvements": [{"action": "增加批次抽检", "owner": "品控部"}],
            }
        },
    )
    hook = {"name": "工单", "url": "https://198.51.100.7/in", "eventTypes": ["INCIDENT_OPENED"]}
    created = await system.mutate(room.tenant, Role.ADMIN, ENDPOINT, {"input": hook})
    endpoint = created["endpoint"]
    await open_incident(system, room.tenant, await watchlist(system, room.tenant, "新品", ["新品"]))
    async with system.sessions() as session:
        [delivery] = (
            await session.exec(
                select(WebhookDelivery.id).where(
                    col(WebhookDelivery.endpoint_id) == uuid.UUID(endpoint["databaseId"])
                )
            )
        ).all()
    resent = await system.mutate(
        room.tenant, Role.ADMIN, RESEND, {"input": {"id": gid("WebhookDelivery", delivery)}}
    )

    assert (review["status"], review["state"]) == ("draft", "DRAFT")
    assert review["improvements"] == [{"status": "open", "state": "OPEN"}]
    assert (endpoint["status"], endpoint["state"]) == ("active", "ACTIVE")
    assert (resent["status"], resent["state"]) == ("pending", "PENDING")
