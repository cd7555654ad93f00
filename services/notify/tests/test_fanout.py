"""Fan-out: subscribed, active endpoints of the event's organization get one delivery each."""

import uuid

import pytest

from libs.contracts.enums import EventType
from libs.contracts.notify import UpdateWebhookEndpoint
from libs.contracts.response import IntegrationEventEmitted
from libs.privacy import DataKey
from services.notify import service
from services.notify.tests.builders import (
    NOW,
    PUBLIC,
    create,
    deliveries_of,
    emit,
    event,
    organization,
    run,
)
from tests.builders import Sessions


async def test_only_subscribed_active_endpoints_of_the_organization_get_the_event(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    rival = await organization(rolled_back)
    both = (EventType.INCIDENT_OPENED, EventType.TASK_OVERDUE)
    subscribed, _ = await create(rolled_back, key, org, PUBLIC, now=NOW, event_types=both)
    other_type, _ = await create(
        rolled_back, key, org, PUBLIC, now=NOW, event_types=(EventType.REVIEW_COMPLETED,)
    )
    disabled, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    foreign, _ = await create(rolled_back, key, rival, PUBLIC, now=NOW)
    disable = UpdateWebhookEndpoint(
        organization_id=org, actor="key-admin", endpoint_id=disabled, enabled=False
    )
    assert (await run(rolled_back, lambda s: service.update_endpoint(s, disable, now=NOW))).ok

    assert await emit(rolled_back, event(org, occurred_at=NOW), now=NOW) == 1

    [delivery] = await deliveries_of(rolled_back, subscribed)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("pending", 0, NOW)
    assert delivery.event_type == "incident.opened"
    for endpoint_id in (other_type, disabled, foreign):
        assert await deliveries_of(rolled_back, endpoint_id) == []


async def test_an_event_published_again_is_not_delivered_twice(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    first, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    second, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    message = event(org, occurred_at=NOW)
    again = message.model_copy(update={"message_id": uuid.uuid4()})

    assert await emit(rolled_back, message, now=NOW) == 2
    assert await emit(rolled_back, again, now=NOW) == 0

    assert len(await deliveries_of(rolled_back, first)) == 1
    assert len(await deliveries_of(rolled_back, second)) == 1


async def test_payloads_are_masked_before_they_are_stored(
    rolled_back: Sessions, key: DataKey
) -> None:
    org = await organization(rolled_back)
    endpoint_id, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    payload = {
        "title": "客户投诉",
        "contact": {"phone": "+86 138 0013 5678", "email": "li.na@example.cn"},
        "notes": ["身份证 11010519491231002X 已核实", 3],
    }

    await emit(rolled_back, event(org, occurred_at=NOW, payload=payload), now=NOW)

    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    assert delivery.payload == {
        "type": "incident.opened",
        "timestamp": "2025-03-01T08:00:00Z",
        "data": {
            "title": "客户投诉",
            "contact": {"phone": "+86 138****5678", "email": "l***@example.cn"},
            "notes": ["身份证 110105********002X 已核实", 3],
        },
    }


# A valid id whose digits read like a phone number written with dashes (138-1234-5678).
PHONE_LIKE_ID = uuid.UUID("0e7a1b2c-d138-1234-5678-9abcdef01234")


def _summary() -> dict[str, object]:
    return {
        "id": str(PHONE_LIKE_ID),
        "title": "「禾岚乳业」轻度舆情危机 13800135678",
        "status": "detected",
        "tier": "yellow",
        "crisis_type": None,
        "watchlist": {"id": str(uuid.uuid4()), "name": "禾岚乳业"},
        "detected_at": "2025-03-01T08:00:00Z",
        "reasons": ["用户 13912345678 投诉"],
        "tasks": [
            {
                "id": str(PHONE_LIKE_ID),
                "kind": "acknowledge",
                "title": "确认事件并启动监测",
                "role": "monitor",
                "channel": None,
                "due_at": "2025-03-01T08:30:00Z",
                "overdue": False,
            }
        ],
    }


@pytest.mark.parametrize("console", [None, "https://console.example.com/incidents"])
async def test_the_summary_is_masked_but_keeps_its_ids_and_gets_the_console_link(
    rolled_back: Sessions, key: DataKey, console: str | None
) -> None:
    org = await organization(rolled_back)
    endpoint_id, _ = await create(rolled_back, key, org, PUBLIC, now=NOW)
    message = IntegrationEventEmitted(
        organization_id=org,
        event_id=uuid.uuid4(),
        type=EventType.INCIDENT_OPENED,
        incident_id=PHONE_LIKE_ID,
        occurred_at=NOW,
        payload={"incident_id": str(PHONE_LIKE_ID), "incident": _summary()},
    )

    await emit(rolled_back, message, now=NOW, console_url=console)

    [delivery] = await deliveries_of(rolled_back, endpoint_id)
    data = delivery.payload["data"]
    summary = data["incident"]
    assert data["incident_id"] == summary["id"] == summary["tasks"][0]["id"] == str(PHONE_LIKE_ID)
    assert summary["title"] == "「禾岚乳业」轻度舆情危机 138****5678"
    assert summary["reasons"] == ["用户 139****5678 投诉"]
    if console is None:
        assert "console_url" not in summary
    else:
        assert summary["console_url"] == f"{console}/{PHONE_LIKE_ID}"
    # What was stored is still a valid event for chat rendering.
    assert IntegrationEventEmitted(
        organization_id=org,
        event_id=message.event_id,
        type=message.type,
        occurred_at=NOW,
        payload=data,
    ).payload["incident"]["id"] == str(PHONE_LIKE_ID)
