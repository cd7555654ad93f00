"""A late follow-up's chat card says which kind of task is late and whom it reached."""

import uuid
from datetime import UTC, datetime, timedelta

from libs.contracts.enums import EndpointKind
from libs.contracts.events import FollowUpOverdue
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat.chat import render

NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def late(kind: str, escalated_to: list[str]) -> IntegrationEventEmitted:
    incident = uuid.uuid4()
    body = FollowUpOverdue(
        follow_up_id=uuid.uuid4(),
        incident_id=incident,
        affected_user_id=uuid.uuid4(),
        user="张*",
        kind=kind,
        visit=1 if kind == "follow_up" else None,
        owner="李娜",
        escalated_to=escalated_to,
        due_at=NOW - timedelta(hours=25),
        hours_late=25,
    )
    return IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=body.TYPE,
        incident_id=incident,
        occurred_at=NOW,
        payload=body.body(),
    )


def _content(event: IntegrationEventEmitted) -> str:
    request = render(EndpointKind.WECOM, "https://qyapi.example/hook", None, event, NOW)
    content: str = request.json_body["markdown"]["content"]
    return content


def test_a_late_visit_names_the_visit_and_the_commander_reminded() -> None:
    content = _content(late("follow_up", ["王强"]))
    assert content.startswith("## 回访逾期")
    assert "张*的第1次回访" in content
    assert "王强" in content and "已提醒事件指挥" in content


def test_a_late_compensation_is_called_one_and_a_missing_commander_is_said() -> None:
    content = _content(late("compensation", []))
    assert content.startswith("## 补偿逾期")
    assert "回访" not in content
    assert "已提醒事件指挥" not in content
    assert "尚未指定指挥" in content
