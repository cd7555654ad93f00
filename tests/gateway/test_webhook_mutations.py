"""Webhook mutations end to end: gateway → events queue → the real notify worker → read back.

The delivery redelivered here is a real one: the incidents worker announced an opened
incident and the notify worker fanned it out to the endpoints subscribed to it. The test
runs with the positional forms old clients send and with the `input:` forms replacing them.
"""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import FORMS, OPS, uncoded, written
from libs.contracts.enums import Role
from libs.database.tables import WebhookDelivery, WebhookEndpoint
from tests.builders import Tenant
from tests.gateway.builders import System, open_incident, watchlist

# TEST-NET-2, never routed and listed by the system's operator: nothing can be sent there.
TICKETS = "https://198.51.100.7/in?sig=abcdefghijklmnopq"
DUTY_ROOM = "https://198.51.100.7/duty"


async def send(system: System, owner: Tenant, name: str, variables: dict[str, Any]) -> Any:
    """Send the webhook mutation `name` with an admin key and return its result."""
    return await system.mutate(owner, Role.ADMIN, OPS[name].document, variables)


async def send_in(
    form: str, system: System, owner: Tenant, name: str, variables: dict[str, Any]
) -> Any:
    """Send positional mutation `name` in `form` with an admin key and return its result."""
    document, given = written(form, name, variables)
    result = await system.mutate(owner, Role.ADMIN, document, given)
    return uncoded(result) if form == "input" else result


async def create(system: System, owner: Tenant, name: str, url: str, *events: str) -> Any:
    """Register a standard endpoint for `events`."""
    variables = {"input": {"name": name, "url": url, "eventTypes": list(events)}}
    return await send(system, owner, "createWebhookEndpoint", variables)


@pytest.mark.parametrize("form", FORMS)
async def test_webhook_mutations_manage_endpoints_and_show_a_secret_only_once(
    system: System, acme: Tenant, form: str
) -> None:
    refused = await send(system, acme, "setWebhookPolicy", {"allow": True})
    policy = await send(system, acme, "setWebhookPolicy", {"allow": False})
    created = await create(
        system, acme, "工单系统", TICKETS, "INCIDENT_OPENED", "STATEMENT_PUBLISHED"
    )
    duty = await create(system, acme, "值班群", DUTY_ROOM, "INCIDENT_OPENED")
    endpoint_id = uuid.UUID(duty["endpoint"]["databaseId"])
    await open_incident(system, acme, await watchlist(system, acme, "奶粉质量", ["奶粉"]))
    async with system.sessions() as session:
        [delivery] = (
            await session.exec(
                select(WebhookDelivery.id).where(col(WebhookDelivery.endpoint_id) == endpoint_id)
            )
        ).all()
    endpoint = gid("WebhookEndpoint", endpoint_id)
    updated = await send(
        system,
        acme,
        "updateWebhookEndpoint",
        {"input": {"id": endpoint, "name": "新工单系统", "eventTypes": ["TASK_OVERDUE"]}},
    )
    before = datetime.now(UTC)
    rotated = await send_in(form, system, acme, "rotateWebhookSecret", {"id": endpoint})
    after = datetime.now(UTC)
    redelivered = await send_in(
        form, system, acme, "redeliverWebhook", {"id": gid("WebhookDelivery", delivery)}
    )
    deleted = await send_in(form, system, acme, "deleteWebhookEndpoint", {"id": endpoint})
    deleted_again = await send_in(form, system, acme, "deleteWebhookEndpoint", {"id": endpoint})
    listed = await system.post(
        acme.auth(Role.ADMIN),
        "{ webhookEndpoints { name } webhookPolicy { allowPrivateDestinations } }",
    )

    assert refused["__typename"] == "InvalidInput"
    assert "CRISISWATCH_WEBHOOK_PRIVATE_CIDRS" in refused["message"]
    assert policy["allowPrivateDestinations"] is False
    assert created["secret"].startswith("whsec_")
    assert created["endpoint"]["url"] == "https://198.51.100.7/in?sig=***nopq"
    assert created["endpoint"]["eventTypes"] == ["INCIDENT_OPENED", "STATEMENT_PUBLISHED"]
    assert updated["name"] == "新工单系统"
    assert updated["eventTypes"] == ["TASK_OVERDUE"]
    assert rotated["secret"].startswith("whsec_")
    assert rotated["secret"] != duty["secret"]
    assert rotated["endpoint"] == {"databaseId": str(endpoint_id)}
    # The old secret keeps signing for the 48 hours asked for.
    expires = datetime.fromisoformat(rotated["previousSecretExpiresAt"])
    assert before + timedelta(hours=48) <= expires <= after + timedelta(hours=48)
    assert redelivered["databaseId"] == str(delivery)
    assert redelivered["status"] == "pending"
    assert redelivered["nextAttemptAt"] is not None
    assert deleted == {
        "__typename": "WebhookEndpointDeleted",
        "deletedId": endpoint,
        "databaseId": str(endpoint_id),
    }
    assert deleted_again["__typename"] == "NotFound"
    assert listed["data"] == {
        "webhookEndpoints": [{"name": "工单系统"}],
        "webhookPolicy": {"allowPrivateDestinations": False},
    }
    async with system.sessions() as session:
        stored = (
            await session.exec(
                select(WebhookEndpoint.id, WebhookEndpoint.url).where(
                    col(WebhookEndpoint.organization_id) == acme.org.id
                )
            )
        ).all()
    # The gateway sent the URL in clear; only what it shows is masked.
    assert [url for _, url in stored] == [TICKETS]
