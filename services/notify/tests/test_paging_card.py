"""A `person.paged` alert @-mentions the person in each chat platform's own syntax."""

import uuid
from datetime import UTC, datetime

from libs.contracts.enums import EndpointKind
from libs.contracts.events import ChatHandle, PersonPaged
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat.chat import render

NOW = datetime(2025, 3, 1, 8, 31, tzinfo=UTC)
INCIDENT = uuid.uuid4()


def paged(*handles: tuple[str, str]) -> IntegrationEventEmitted:
    body = PersonPaged(
        page_id=uuid.uuid4(),
        incident_id=INCIDENT,
        person_id=uuid.uuid4(),
        person="赵代班",
        role="analyst",
        reason="task_overdue",
        task_id=uuid.uuid4(),
        paged_at=NOW,
        chat_handles=[ChatHandle(platform=p, handle=h) for p, h in handles],
    )
    return IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=body.TYPE,
        incident_id=INCIDENT,
        occurred_at=NOW,
        payload=body.body(),
    )


HANDLES = (("wecom", "zhaodb"), ("dingtalk", "manager4521"), ("feishu", "ou_7d8a6e4b2c"))
CONSOLE = "https://console.example.com/incidents"


def test_wecom_mentions_its_own_handle_in_the_markdown() -> None:
    request = render(EndpointKind.WECOM, "https://qyapi.example/hook", None, paged(*HANDLES), NOW)
    content = request.json_body["markdown"]["content"]
    assert content.startswith("## 值班呼叫：赵代班（数据分析师）")
    assert "> 原因：任务超时升级" in content
    assert "<@zhaodb>" in content
    assert "manager4521" not in content and "ou_7d8a6e4b2c" not in content


def test_dingtalk_mentions_in_text_and_at_and_sends_markdown_with_the_link() -> None:
    event = paged(*HANDLES)
    request = render(
        EndpointKind.DINGTALK, "https://oapi.example/robot", None, event, NOW, console_url=CONSOLE
    )
    body = request.json_body
    assert body["msgtype"] == "markdown"
    assert body["at"] == {"atUserIds": ["manager4521"]}
    assert "@manager4521" in body["markdown"]["text"]
    assert f"[查看事件]({CONSOLE}/{INCIDENT})" in body["markdown"]["text"]


def test_feishu_mentions_by_open_id_in_a_card_element() -> None:
    request = render(EndpointKind.FEISHU, "https://open.example/hook", None, paged(*HANDLES), NOW)
    contents = [e.get("content") for e in request.json_body["card"]["elements"]]
    assert "<at id=ou_7d8a6e4b2c></at>" in contents


def test_a_handle_that_could_break_the_markup_is_left_out() -> None:
    event = paged(("feishu", "ou_1></at><at id=all"), ("wecom", "a b"))
    feishu = render(EndpointKind.FEISHU, "https://open.example/hook", None, event, NOW)
    assert "<at" not in str(feishu.json_body)
    wecom = render(EndpointKind.WECOM, "https://qyapi.example/hook", None, event, NOW)
    assert "<@" not in wecom.json_body["markdown"]["content"]
    # Without a mention, DingTalk keeps its action card.
    dingtalk = render(
        EndpointKind.DINGTALK, "https://oapi.example/robot", None, event, NOW, console_url=CONSOLE
    )
    assert dingtalk.json_body["msgtype"] == "actionCard" and "at" not in dingtalk.json_body
