"""The payload examples in docs/webhooks.md are valid events and make chat cards."""

import json
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.events import parse_body
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat.chat import render

WEBHOOKS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
_JSON_BLOCK = re.compile(r"```json\n(.*?)```", re.DOTALL)


def documented_bodies() -> dict[str, dict[str, Any]]:
    """Return the documented webhook body of each event type, by type."""
    bodies = {}
    for block in _JSON_BLOCK.findall(WEBHOOKS.read_text()):
        body = json.loads(block)
        if isinstance(body, dict) and body.get("type") in set(EventType):
            bodies[body["type"]] = body
    return bodies


def test_every_event_type_has_a_documented_example() -> None:
    assert set(documented_bodies()) == {t.value for t in EventType}


# Events about no incident: their example carries no incident summary.
WITHOUT_INCIDENT = {EventType.RISK_CHECK_COMPLETED.value}
CHAT_KINDS = [EndpointKind.WECOM, EndpointKind.DINGTALK, EndpointKind.FEISHU]


@pytest.mark.parametrize("type_", [t.value for t in EventType if t.value not in WITHOUT_INCIDENT])
@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_a_documented_example_is_a_valid_event_with_a_full_card(
    type_: str, kind: EndpointKind
) -> None:
    body = documented_bodies()[type_]
    data = body["data"]
    incident = data["incident"]

    event = IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=EventType(type_),
        incident_id=uuid.UUID(incident["id"]),
        occurred_at=datetime.fromisoformat(body["timestamp"]),
        payload=data,
    )
    request = render(
        kind,
        "https://bots.example.com/hook",
        None,
        event,
        datetime.now(UTC),
        console_url="https://console.example.com/incidents",
    )

    text = json.dumps(request.json_body, ensure_ascii=False)
    assert event.payload["incident"]["watchlist"]["name"] == "禾岚乳业"
    assert incident["console_url"] == f"https://console.example.com/incidents/{incident['id']}"
    assert "禾岚乳业" in text and "预警" in text
    assert incident["console_url"] in text
    assert "None" not in text


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_the_documented_risk_check_is_a_valid_event_with_a_digest_card(kind: EndpointKind) -> None:
    body = documented_bodies()[EventType.RISK_CHECK_COMPLETED.value]
    parse_body(EventType.RISK_CHECK_COMPLETED, body["data"])
    event = IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=EventType.RISK_CHECK_COMPLETED,
        occurred_at=datetime.fromisoformat(body["timestamp"]),
        payload=body["data"],
    )
    request = render(kind, "https://bots.example.com/hook", None, event, datetime.now(UTC))

    text = json.dumps(request.json_body, ensure_ascii=False)
    assert "incident" not in body["data"]
    assert "每日风险排查（2025-03-02）" in text
    assert "红色「禾岚乳业」" in text
    assert "「禾岚奶粉宝宝腹泻」负面 182/240 条" in text
    assert "腹泻 156（前日 4）" in text
    assert "发布首次公开声明" in text
    assert "None" not in text
