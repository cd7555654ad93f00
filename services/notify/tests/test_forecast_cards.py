"""Chat cards of incident updates say where the crisis is heading; the warning card says why."""

import uuid
from datetime import datetime
from typing import Any

from libs.contracts.enums import EventType
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat.renderers import build_card
from services.notify.tests.test_docs import documented_bodies


def _card_of(body: dict[str, Any]) -> Any:
    event = IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=EventType(body["type"]),
        incident_id=uuid.UUID(body["data"]["incident"]["id"]),
        occurred_at=datetime.fromisoformat(body["timestamp"]),
        payload=body["data"],
    )
    return build_card(event)


def test_an_incident_update_card_shows_the_forecast_line() -> None:
    card = _card_of(documented_bodies()[EventType.INCIDENT_OPENED.value])
    assert ("走势预测", "约12分钟后升至红色；首次声明4小时后到期") in card.facts


def test_a_card_about_something_else_leaves_the_forecast_out() -> None:
    card = _card_of(documented_bodies()[EventType.STATEMENT_PUBLISHED.value])
    assert "走势预测" not in dict(card.facts)


def test_the_deadline_at_risk_card_names_the_peak_the_deadline_and_the_tiers_ahead() -> None:
    card = _card_of(documented_bodies()[EventType.FORECAST_DEADLINE_AT_RISK.value])
    facts = dict(card.facts)
    assert card.title == "「禾岚乳业」预计峰值早于发布首次公开声明截止"
    assert facts["早于截止"] == "137 分钟"
    assert (facts["1小时后等级"], facts["4小时后等级"]) == ("红色", "橙色")
    assert facts["走势预测"] == "约12分钟后升至红色；首次声明3小时40分钟后到期"
    [deadline] = card.deadlines
    assert deadline.title == "发布首次公开声明"
