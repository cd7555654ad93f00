"""Chat cards: what each event's alert says, in every platform's body, whatever the payload."""

from typing import Any

import pytest

from libs.contracts.enums import EndpointKind, EventType
from services.notify.chat.chat import render
from services.notify.tests.builders import (
    CHAT_KINDS,
    CONSOLE,
    INCIDENT_ID,
    SENT_AT,
    bot,
    chat_event,
    opened_payload,
    render_for,
    review_payload,
    statement_payload,
    status_changed_payload,
    summary,
    task_overdue_payload,
    tier_changed_payload,
    visible_text,
)

CASES = [
    pytest.param(
        EventType.INCIDENT_OPENED, opened_payload, "「禾岚乳业」触发红色预警", id="opened"
    ),
    pytest.param(
        EventType.INCIDENT_TIER_CHANGED, tier_changed_payload, "「禾岚乳业」升至红色预警", id="tier"
    ),
    pytest.param(
        EventType.INCIDENT_STATUS_CHANGED,
        status_changed_payload,
        "「禾岚乳业」事件处置中",
        id="status",
    ),
    pytest.param(
        EventType.TASK_OVERDUE,
        task_overdue_payload,
        "「禾岚乳业」任务超时：发布首次公开声明",
        id="overdue",
    ),
    pytest.param(
        EventType.STATEMENT_PUBLISHED,
        statement_payload,
        "「禾岚乳业」微博声明已发布",
        id="statement",
    ),
    pytest.param(EventType.REVIEW_COMPLETED, review_payload, "「禾岚乳业」复盘完成", id="review"),
]


@pytest.mark.parametrize("kind", CHAT_KINDS)
@pytest.mark.parametrize(("type_", "payload", "title"), CASES)
def test_cards_show_tier_watchlist_reason_link_and_deadlines(
    kind: EndpointKind, type_: EventType, payload: Any, title: str
) -> None:
    text = visible_text(render_for(kind, type_, payload()))

    assert title in text
    assert "红色预警（严重）" in text
    assert "禾岚乳业" in text
    assert "负面声量为基线的 6.2 倍" in text
    assert f"{CONSOLE}/{INCIDENT_ID}" in text
    assert "时限（北京时间）" in text
    assert "None" not in text


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_incident_cards_list_open_deadlines_soonest_first_in_beijing_time(
    kind: EndpointKind,
) -> None:
    text = visible_text(render_for(kind, EventType.INCIDENT_OPENED, opened_payload()))

    overdue = text.index("确认影响范围：03-01 15:00 截止（已超时）")
    upcoming = text.index("发布首次公开声明：03-01 20:00 截止")
    assert overdue < upcoming
    assert "第四条理由" not in text  # only the first three reasons
    assert "产品质量" in text and "风险分：87.5" in text.replace("**", "")


@pytest.mark.parametrize("kind", CHAT_KINDS)
@pytest.mark.parametrize(("type_", "payload", "title"), CASES)
def test_an_event_from_before_the_summary_still_makes_a_card(
    kind: EndpointKind, type_: EventType, payload: Any, title: str
) -> None:
    legacy = {key: value for key, value in payload().items() if key != "incident"}

    text = visible_text(render_for(kind, type_, legacy))

    assert f"{CONSOLE}/{INCIDENT_ID}" in text
    assert "None" not in text
    if type_ in (EventType.INCIDENT_OPENED, EventType.INCIDENT_TIER_CHANGED):
        assert "红色预警" in text and "负面声量为基线的 6.2 倍" in text
    assert ("禾岚乳业" in text) is (type_ is EventType.INCIDENT_OPENED)


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_overdue_cards_say_which_task_how_late_and_who_has_it_now(kind: EndpointKind) -> None:
    text = visible_text(render_for(kind, EventType.TASK_OVERDUE, task_overdue_payload()))

    late = text.index("发布首次公开声明：03-01 20:00 截止（已超时 12 分钟）")
    assert text.count("发布首次公开声明：") == 1
    # Then the rest of what is due, from the incident summary, soonest first.
    assert late < text.index("确认影响范围：03-01 15:00 截止（已超时）")
    assert text.index("确认影响范围") < text.index("发布详细回复：03-02 16:00 截止")
    assert "法务（王律师）" in text
    assert "新闻发言人" in text


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_other_cards_carry_their_own_details(kind: EndpointKind) -> None:
    statement = visible_text(render_for(kind, EventType.STATEMENT_PUBLISHED, statement_payload()))
    review = visible_text(render_for(kind, EventType.REVIEW_COMPLETED, review_payload()))
    status = visible_text(
        render_for(kind, EventType.INCIDENT_STATUS_CHANGED, status_changed_payload())
    )

    assert "https://weibo.com/1234567890/Abcdef" in statement and "03-01 19:30" in statement
    assert "根本原因" in review
    assert "改进：发布首次公开声明的模板预审（公关部）：03-08 20:00 截止" in review
    assert "已确认 → 处置中" in status


def test_feishu_header_colour_follows_the_tier() -> None:
    colours = {}
    for tier in ("blue", "yellow", "orange", "red"):
        payload = opened_payload() | {"tier": tier}
        body = render_for(EndpointKind.FEISHU, EventType.INCIDENT_OPENED, payload).json_body
        colours[tier] = body["card"]["header"]["template"]
    no_tier = render_for(EndpointKind.FEISHU, EventType.TASK_OVERDUE, {}).json_body

    assert colours == {"blue": "blue", "yellow": "yellow", "orange": "orange", "red": "red"}
    assert no_tier["card"]["header"]["template"] == "grey"


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_dingtalk_uses_an_action_card_only_when_there_is_a_link(kind: EndpointKind) -> None:
    url, secret = bot(kind)
    without = render(
        kind, url, secret, chat_event(EventType.INCIDENT_OPENED, opened_payload()), SENT_AT
    )
    with_link = render_for(kind, EventType.INCIDENT_OPENED, opened_payload())

    assert f"{CONSOLE}/{INCIDENT_ID}" not in visible_text(without)
    if kind is EndpointKind.DINGTALK:
        assert without.json_body["msgtype"] == "markdown"
        assert with_link.json_body["actionCard"]["singleURL"] == f"{CONSOLE}/{INCIDENT_ID}"


def test_console_url_may_place_the_incident_id() -> None:
    url, secret = bot(EndpointKind.FEISHU)
    request = render(
        EndpointKind.FEISHU,
        url,
        secret,
        chat_event(EventType.INCIDENT_OPENED, opened_payload()),
        SENT_AT,
        console_url="https://console.example.com/#/incidents/{incident_id}/war-room",
    )

    assert f"/#/incidents/{INCIDENT_ID}/war-room" in visible_text(request)


@pytest.mark.parametrize("kind", CHAT_KINDS)
@pytest.mark.parametrize("type_", list(EventType))
@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param(
            {"tier": "purple", "reasons": "一条", "tasks": "x", "minutes_late": "12"}, id="odd"
        ),
        pytest.param(
            {"incident": None, "escalated_to": None, "improvements": [None, {}]}, id="nulls"
        ),
    ],
)
def test_missing_or_odd_fields_leave_lines_out(
    kind: EndpointKind, type_: EventType, payload: dict[str, Any]
) -> None:
    request = render_for(kind, type_, payload)

    text = visible_text(request)
    assert text
    assert "None" not in text and "purple" not in text


@pytest.mark.parametrize("kind", CHAT_KINDS)
def test_cards_never_show_clear_contact_data_or_markup(kind: EndpointKind) -> None:
    payload = task_overdue_payload()
    payload["title"] = "回访 13812345678 用户"
    payload["escalated_to"] = {"role": "legal", "person": "zhang.san@example.com"}
    payload["incident"] = summary() | {
        "reasons": ["身份证 11010119900307803X 泄露 <at id=all></at> [点我](https://evil.example)"]
    }

    text = visible_text(render_for(kind, EventType.TASK_OVERDUE, payload))

    assert "138****5678" in text and "13812345678" not in text
    assert "z***@example.com" in text and "zhang.san@" not in text
    assert "110101********803X" in text and "11010119900307803X" not in text
    assert "<at" not in text and "](https://evil.example)" not in text
