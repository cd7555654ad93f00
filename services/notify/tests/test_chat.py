"""Chat alerts: each platform's signature, checked the way the platform checks it, and the cards.

A local FastAPI app stands in for the three platforms. It verifies requests with its own
code written from the platforms' documented algorithms (not with the code under test),
against its own clock, and answers the way they do: HTTP 200 with an error code.
"""

import base64
import hashlib
import hmac
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.response import IntegrationEventEmitted
from services.notify.chat import (
    MAX_MARKDOWN_BYTES,
    ChatRequest,
    accepted,
    failure_reason,
    render,
)

SENT_AT = datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)  # 16:00:05 in Beijing
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "a1b2c3"
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
FEISHU_SECRET = "demo-feishu-secret"
CONSOLE = "https://console.example.com/incidents"
INCIDENT_ID = uuid.UUID("7d4f8a52-3c1e-4b7a-9e0f-2a6b5c8d9e10")
HOUR = timedelta(hours=1)


# --- the documented algorithms, written independently of the code under test ----------------


def documented_dingtalk_sign(secret: str, timestamp: str) -> str:
    """DingTalk 加签: quote_plus(base64(HmacSHA256(secret, timestamp + "\\n" + secret)))."""
    string_to_sign = f"{timestamp}\n{secret}".encode()
    code = hmac.new(secret.encode(), string_to_sign, digestmod=hashlib.sha256).digest()
    return quote_plus(base64.b64encode(code))


def documented_feishu_sign(secret: str, timestamp: str) -> str:
    """Feishu 签名校验: base64(HmacSHA256(key=timestamp + "\\n" + secret, msg=""))."""
    key = f"{timestamp}\n{secret}".encode()
    code = hmac.new(key, b"", digestmod=hashlib.sha256).digest()
    return base64.b64encode(code).decode()


# --- a stand-in for the three platforms -----------------------------------------------------


@dataclass
class Platform:
    """The platforms' shared state: their clock and what they accepted."""

    now: datetime = SENT_AT
    received: list[dict[str, Any]] = field(default_factory=list)


def platform_app(platform: Platform) -> FastAPI:
    """Return an app answering like WeCom, DingTalk and Feishu group-bot webhooks."""
    app = FastAPI()

    @app.post("/cgi-bin/webhook/send")
    async def wecom(request: Request) -> dict[str, Any]:
        if request.query_params.get("key") != WECOM_KEY:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        body = await request.json()
        content = body.get("markdown", {}).get("content") if isinstance(body, dict) else None
        if body.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        platform.received.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/robot/send")
    async def dingtalk(request: Request) -> dict[str, Any]:
        query = request.query_params
        if query.get("access_token") != DINGTALK_TOKEN:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit():
            return {"errcode": 310000, "errmsg": "sign not match, missing timestamp"}
        drift_ms = abs(platform.now.timestamp() * 1000 - int(timestamp))
        if drift_ms > HOUR.total_seconds() * 1000:
            return {"errcode": 310000, "errmsg": "sign not match, timestamp is expired"}
        # The query is already decoded here, so compare against the signature before quote_plus.
        digest = hmac.new(
            DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(sign, base64.b64encode(digest).decode()):
            return {"errcode": 310000, "errmsg": "sign not match"}
        body = await request.json()
        kind = body.get("msgtype")
        if kind not in {"markdown", "actionCard"} or not body.get(kind, {}).get("text"):
            return {"errcode": 40035, "errmsg": "missing parameter text"}
        platform.received.append(body)
        return {"errcode": 0, "errmsg": "ok"}

    @app.post("/open-apis/bot/v2/hook/{token}")
    async def feishu(token: str, request: Request) -> dict[str, Any]:
        body = await request.json()
        timestamp, sign = str(body.get("timestamp", "")), body.get("sign", "")
        refused = {
            "code": 19021,
            "data": {},
            "msg": "sign match fail or timestamp is not within one hour from current time",
        }
        if not timestamp.isdigit() or not isinstance(sign, str):
            return refused
        if abs(platform.now.timestamp() - int(timestamp)) > HOUR.total_seconds():
            return refused
        if not hmac.compare_digest(sign, documented_feishu_sign(FEISHU_SECRET, timestamp)):
            return refused
        card = body.get("card", {})
        if body.get("msg_type") != "interactive" or not card.get("elements"):
            return {"code": 9499, "data": {}, "msg": "Bad Request"}
        platform.received.append(body)
        return {"code": 0, "data": {}, "msg": "success", "StatusCode": 0}

    return app


@pytest.fixture(scope="module")
def platform_server() -> Iterator[tuple[str, Platform]]:
    """Serve the stand-in on 127.0.0.1; the socket listens before the server starts,
    so requests made right away wait in the backlog instead of failing."""
    platform = Platform()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(platform_app(platform), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", platform
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


@pytest.fixture
def platform(platform_server: tuple[str, Platform]) -> Iterator[Platform]:
    """The platforms with their clock at the send time and nothing received yet."""
    _, state = platform_server
    state.now = SENT_AT
    state.received.clear()
    yield state


@pytest.fixture
def base_url(platform_server: tuple[str, Platform]) -> str:
    return platform_server[0]


async def post(request: ChatRequest) -> httpx.Response:
    """Send the rendered request the way the delivery code does: UTF-8 JSON bytes."""
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(
            request.url,
            headers=request.headers,
            content=json.dumps(request.json_body, ensure_ascii=False).encode(),
        )


# --- events as the incidents service emits them ---------------------------------------------


def event(type_: EventType, payload: dict[str, Any]) -> IntegrationEventEmitted:
    return IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=type_,
        incident_id=INCIDENT_ID,
        occurred_at=SENT_AT,
        payload=payload,
    )


WATCHLIST_ID = uuid.UUID("0b9c2f4e-1d3a-4e5f-8a7b-6c5d4e3f2a1b")
OVERDUE_TASK_ID = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
OPEN_TASKS = [
    {
        "id": "3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a",
        "kind": "first_statement",
        "title": "发布首次公开声明",
        "role": "spokesperson",
        "channel": None,
        "due_at": "2025-03-01T12:00:00Z",
        "overdue": False,
    },
    {
        "id": "5e4d3c2b-1a09-4f8e-8d7c-6b5a4f3e2d1c",
        "kind": "confirm_scope",
        "title": "确认影响范围",
        "role": "analyst",
        "channel": None,
        "due_at": "2025-03-01T07:00:00Z",
        "overdue": True,
    },
]


def summary(**changes: Any) -> dict[str, Any]:
    """Return the incident summary the incidents service puts in every event's payload."""
    return {
        "id": str(INCIDENT_ID),
        "title": "「禾岚乳业」严重舆情危机",
        "status": "responding",
        "tier": "red",
        "crisis_type": "product_quality",
        "watchlist": {"id": str(WATCHLIST_ID), "name": "禾岚乳业"},
        "detected_at": "2025-03-01T07:58:00Z",
        "reasons": ["负面声量为基线的 6.2 倍"],
        "tasks": OPEN_TASKS,
    } | changes


CONTEXT = summary()
# What the summary of a `task.overdue` event lists: the late task itself among the others.
OVERDUE_TASKS = [
    OPEN_TASKS[1],
    OPEN_TASKS[0] | {"id": str(OVERDUE_TASK_ID), "overdue": True},
    {
        "id": "6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2f1e",
        "kind": "detailed_reply",
        "title": "发布详细回复",
        "role": "customer_service",
        "channel": None,
        "due_at": "2025-03-02T08:00:00Z",
        "overdue": False,
    },
]


def opened_payload() -> dict[str, Any]:
    return {
        "incident_id": str(INCIDENT_ID),
        "title": "「禾岚乳业」严重舆情危机",
        "tier": "red",
        "status": "detected",
        "watchlist_id": str(uuid.uuid4()),
        "story_id": None,
        "crisis_type": "product_quality",
        "detected_at": "2025-03-01T07:58:00+00:00",
        "signal_id": str(uuid.uuid4()),
        "score": 87.5,
        "reasons": ["负面声量为基线的 6.2 倍", "媒体大号转发", "敏感词：腹泻", "第四条理由"],
        "playbook": "默认预案",
        "recurrence_of_id": None,
        "incident": summary(status="detected"),
    }


def tier_changed_payload() -> dict[str, Any]:
    return {
        "incident_id": str(INCIDENT_ID),
        "from": "orange",
        "to": "red",
        "actor": "system",
        "reasons": ["负面声量为基线的 6.2 倍"],
        "added_tasks": ["legal_review"],
        "timeline_event_id": str(uuid.uuid4()),
        "incident": summary(),
    }


def status_changed_payload() -> dict[str, Any]:
    return {
        "incident_id": str(INCIDENT_ID),
        "from": "acknowledged",
        "to": "responding",
        "actor": "key-1",
        "reason": "负面声量为基线的 6.2 倍，启动处置",
        "timeline_event_id": str(uuid.uuid4()),
        "incident": CONTEXT,
    }


def task_overdue_payload() -> dict[str, Any]:
    return {
        "task_id": str(OVERDUE_TASK_ID),
        "kind": "first_statement",
        "title": "发布首次公开声明",
        "role": "spokesperson",
        "channel": None,
        "due_at": "2025-03-01T12:00:00+00:00",
        "breached_at": "2025-03-01T12:12:30+00:00",
        "minutes_late": 12,
        "escalated_to": {"role": "legal", "person": "王律师"},
        "incident": summary(tasks=OVERDUE_TASKS),
    }


def statement_payload() -> dict[str, Any]:
    return {
        "statement_id": str(uuid.uuid4()),
        "incident_id": str(INCIDENT_ID),
        "channel": "weibo",
        "url": "https://weibo.com/1234567890/Abcdef",
        "published_at": "2025-03-01T11:30:00+00:00",
        "incident": CONTEXT,
    }


def review_payload() -> dict[str, Any]:
    return {
        "review_id": str(uuid.uuid4()),
        "incident_id": str(INCIDENT_ID),
        "completed_by": "key-2",
        "root_cause": "负面声量为基线的 6.2 倍时未及时升级",
        "improvements": [
            {
                "action": "发布首次公开声明的模板预审",
                "owner": "公关部",
                "due_at": "2025-03-08T12:00:00+00:00",
            }
        ],
        "stages_missed": 1,
        "tasks_missed": 2,
        "incident": summary(status="resolved", tasks=[]),
    }


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
KINDS = [EndpointKind.WECOM, EndpointKind.DINGTALK, EndpointKind.FEISHU]


def endpoint(kind: EndpointKind, base: str = "https://bots.example.com") -> tuple[str, str | None]:
    """Return the webhook URL and secret of a configured bot of `kind`."""
    if kind is EndpointKind.WECOM:
        return f"{base}/cgi-bin/webhook/send?key={WECOM_KEY}", None
    if kind is EndpointKind.DINGTALK:
        return f"{base}/robot/send?access_token={DINGTALK_TOKEN}", DINGTALK_SECRET
    return f"{base}/open-apis/bot/v2/hook/0f1e2d3c", FEISHU_SECRET


def render_for(
    kind: EndpointKind,
    type_: EventType,
    payload: dict[str, Any],
    *,
    base: str = "https://bots.example.com",
    now: datetime = SENT_AT,
) -> ChatRequest:
    url, secret = endpoint(kind, base)
    return render(kind, url, secret, event(type_, payload), now, console_url=CONSOLE)


def visible_text(request: ChatRequest) -> str:
    """Return every string a reader could see in the message, joined."""
    strings: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                if key not in {"timestamp", "sign"}:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(request.json_body)
    return "\n".join(strings)


# --- signatures -----------------------------------------------------------------------------


def test_dingtalk_signature_matches_the_documented_formula() -> None:
    request = render_for(EndpointKind.DINGTALK, EventType.INCIDENT_OPENED, opened_payload())

    raw_query = urlsplit(request.url).query
    pairs = dict(pair.split("=", 1) for pair in raw_query.split("&"))
    assert pairs["access_token"] == DINGTALK_TOKEN
    assert pairs["timestamp"] == "1740816005000"  # milliseconds
    assert pairs["sign"] == documented_dingtalk_sign(DINGTALK_SECRET, pairs["timestamp"])


def test_dingtalk_signing_replaces_a_stale_signature_in_the_configured_url() -> None:
    url = f"https://bots.example.com/robot/send?access_token={DINGTALK_TOKEN}&timestamp=1&sign=x"
    request = render(
        EndpointKind.DINGTALK, url, DINGTALK_SECRET, event(EventType.INCIDENT_OPENED, {}), SENT_AT
    )

    query = parse_qs(urlsplit(request.url).query)
    assert query["access_token"] == [DINGTALK_TOKEN]
    assert query["timestamp"] == ["1740816005000"]
    assert len(query["sign"]) == 1 and query["sign"] != ["x"]


def test_feishu_signature_matches_the_documented_formula() -> None:
    request = render_for(EndpointKind.FEISHU, EventType.INCIDENT_OPENED, opened_payload())

    body = request.json_body
    assert body["timestamp"] == "1740816005"  # seconds
    assert body["sign"] == documented_feishu_sign(FEISHU_SECRET, body["timestamp"])
    assert body["msg_type"] == "interactive"


def test_wecom_is_unsigned_and_keeps_its_key_in_the_url() -> None:
    request = render_for(EndpointKind.WECOM, EventType.INCIDENT_OPENED, opened_payload())

    assert request.url == f"https://bots.example.com/cgi-bin/webhook/send?key={WECOM_KEY}"
    assert request.json_body["msgtype"] == "markdown"
    assert set(request.json_body) == {"msgtype", "markdown"}


def test_bots_without_a_secret_get_unsigned_requests() -> None:
    url = f"https://bots.example.com/robot/send?access_token={DINGTALK_TOKEN}"
    ding = render(EndpointKind.DINGTALK, url, None, event(EventType.INCIDENT_OPENED, {}), SENT_AT)
    feishu = render(
        EndpointKind.FEISHU,
        "https://f.example/hook/x",
        "",
        event(EventType.INCIDENT_OPENED, {}),
        SENT_AT,
    )

    assert ding.url == url
    assert "sign" not in feishu.json_body and "timestamp" not in feishu.json_body


def test_render_refuses_naive_times_and_standard_endpoints() -> None:
    opened = event(EventType.INCIDENT_OPENED, opened_payload())
    with pytest.raises(ValueError, match="timezone-aware"):
        render(EndpointKind.FEISHU, "https://f.example/h", "s", opened, datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="not chat bots"):
        render(EndpointKind.STANDARD, "https://example.com/h", "s", opened, SENT_AT)


# --- against the local platforms ------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
async def test_each_platform_accepts_the_rendered_request(
    kind: EndpointKind, base_url: str, platform: Platform
) -> None:
    platform.now = SENT_AT + timedelta(minutes=3)
    request = render_for(
        kind, EventType.INCIDENT_TIER_CHANGED, tier_changed_payload(), base=base_url
    )

    response = await post(request)

    assert response.status_code == 200
    assert accepted(kind, response.status_code, response.content), response.text
    assert platform.received == [request.json_body]


@pytest.mark.parametrize("kind", [EndpointKind.DINGTALK, EndpointKind.FEISHU])
@pytest.mark.parametrize("late", [timedelta(minutes=61), -timedelta(minutes=61)])
async def test_signed_platforms_refuse_a_timestamp_over_an_hour_off(
    kind: EndpointKind, late: timedelta, base_url: str, platform: Platform
) -> None:
    request = render_for(kind, EventType.INCIDENT_OPENED, opened_payload(), base=base_url)
    platform.now = SENT_AT + late

    response = await post(request)

    assert response.status_code == 200
    assert not accepted(kind, response.status_code, response.content)
    assert platform.received == []


async def test_a_request_rendered_again_at_send_time_passes_after_an_hour(
    base_url: str, platform: Platform
) -> None:
    platform.now = SENT_AT + 2 * HOUR
    retry = render_for(
        EndpointKind.DINGTALK,
        EventType.INCIDENT_OPENED,
        opened_payload(),
        base=base_url,
        now=platform.now,
    )

    response = await post(retry)

    assert accepted(EndpointKind.DINGTALK, response.status_code, response.content), response.text


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode(query | changes)))


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(
            lambda url: with_query(url, sign="A" + parse_qs(urlsplit(url).query)["sign"][0][1:]),
            id="sign",
        ),
        pytest.param(
            lambda url: with_query(
                url, timestamp=str(int(parse_qs(urlsplit(url).query)["timestamp"][0]) + 1)
            ),
            id="timestamp",
        ),
    ],
)
async def test_dingtalk_refuses_a_tampered_signature(
    tamper: Any, base_url: str, platform: Platform
) -> None:
    request = render_for(
        EndpointKind.DINGTALK, EventType.TASK_OVERDUE, task_overdue_payload(), base=base_url
    )
    original_sign = parse_qs(urlsplit(request.url).query)["sign"][0]
    tampered = ChatRequest(tamper(request.url), request.headers, request.json_body)
    assert tampered.url != request.url and original_sign

    response = await post(tampered)

    assert response.json()["errcode"] == 310000
    assert not accepted(EndpointKind.DINGTALK, response.status_code, response.content)
    assert platform.received == []


async def test_dingtalk_refuses_a_request_signed_with_another_secret(
    base_url: str, platform: Platform
) -> None:
    url, _ = endpoint(EndpointKind.DINGTALK, base_url)
    request = render(
        EndpointKind.DINGTALK, url, "SECwrong", event(EventType.INCIDENT_OPENED, {}), SENT_AT
    )

    response = await post(request)

    assert failure_reason(EndpointKind.DINGTALK, response.status_code, response.content) == (
        "errcode 310000: sign not match"
    )


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"sign": "A" * 43 + "="}, id="sign"),
        pytest.param({"timestamp": "1740816006"}, id="timestamp"),
    ],
)
async def test_feishu_refuses_a_tampered_signature(
    change: dict[str, str], base_url: str, platform: Platform
) -> None:
    request = render_for(
        EndpointKind.FEISHU, EventType.REVIEW_COMPLETED, review_payload(), base=base_url
    )
    tampered = ChatRequest(request.url, request.headers, request.json_body | change)

    response = await post(tampered)

    assert response.json()["code"] == 19021
    assert not accepted(EndpointKind.FEISHU, response.status_code, response.content)
    assert platform.received == []


async def test_wecom_refuses_another_key(base_url: str, platform: Platform) -> None:
    request = render_for(
        EndpointKind.WECOM, EventType.INCIDENT_OPENED, opened_payload(), base=base_url
    )
    wrong = ChatRequest(
        request.url.replace(WECOM_KEY, "not-the-key"), request.headers, request.json_body
    )

    response = await post(wrong)

    assert failure_reason(EndpointKind.WECOM, response.status_code, response.content) == (
        "errcode 93000: invalid webhook url"
    )


async def test_an_oversized_alert_still_fits_wecom(base_url: str, platform: Platform) -> None:
    payload = opened_payload() | {"reasons": ["舆情" * 500] * 3}
    long_task = OPEN_TASKS[0] | {"title": "任务" * 100, "due_at": "2025-03-02T00:00:00Z"}
    payload["incident"] = summary(tasks=[long_task] * 6)
    request = render_for(EndpointKind.WECOM, EventType.INCIDENT_OPENED, payload, base=base_url)

    response = await post(request)

    content = request.json_body["markdown"]["content"]
    assert len(content.encode()) <= MAX_MARKDOWN_BYTES
    assert f"{CONSOLE}/{INCIDENT_ID}" in content
    assert accepted(EndpointKind.WECOM, response.status_code, response.content), response.text


# --- cards ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
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


@pytest.mark.parametrize("kind", KINDS)
def test_incident_cards_list_open_deadlines_soonest_first_in_beijing_time(
    kind: EndpointKind,
) -> None:
    text = visible_text(render_for(kind, EventType.INCIDENT_OPENED, opened_payload()))

    overdue = text.index("确认影响范围：03-01 15:00 截止（已超时）")
    upcoming = text.index("发布首次公开声明：03-01 20:00 截止")
    assert overdue < upcoming
    assert "第四条理由" not in text  # only the first three reasons
    assert "产品质量" in text and "风险分：87.5" in text.replace("**", "")


@pytest.mark.parametrize("kind", KINDS)
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


@pytest.mark.parametrize("kind", KINDS)
def test_overdue_cards_say_which_task_how_late_and_who_has_it_now(kind: EndpointKind) -> None:
    text = visible_text(render_for(kind, EventType.TASK_OVERDUE, task_overdue_payload()))

    late = text.index("发布首次公开声明：03-01 20:00 截止（已超时 12 分钟）")
    assert text.count("发布首次公开声明：") == 1
    # Then the rest of what is due, from the incident summary, soonest first.
    assert late < text.index("确认影响范围：03-01 15:00 截止（已超时）")
    assert text.index("确认影响范围") < text.index("发布详细回复：03-02 16:00 截止")
    assert "法务（王律师）" in text
    assert "新闻发言人" in text


@pytest.mark.parametrize("kind", KINDS)
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


@pytest.mark.parametrize("kind", KINDS)
def test_dingtalk_uses_an_action_card_only_when_there_is_a_link(kind: EndpointKind) -> None:
    url, secret = endpoint(kind)
    without = render(kind, url, secret, event(EventType.INCIDENT_OPENED, opened_payload()), SENT_AT)
    with_link = render_for(kind, EventType.INCIDENT_OPENED, opened_payload())

    assert f"{CONSOLE}/{INCIDENT_ID}" not in visible_text(without)
    if kind is EndpointKind.DINGTALK:
        assert without.json_body["msgtype"] == "markdown"
        assert with_link.json_body["actionCard"]["singleURL"] == f"{CONSOLE}/{INCIDENT_ID}"


def test_console_url_may_place_the_incident_id() -> None:
    url, secret = endpoint(EndpointKind.FEISHU)
    request = render(
        EndpointKind.FEISHU,
        url,
        secret,
        event(EventType.INCIDENT_OPENED, opened_payload()),
        SENT_AT,
        console_url="https://console.example.com/#/incidents/{incident_id}/war-room",
    )

    assert f"/#/incidents/{INCIDENT_ID}/war-room" in visible_text(request)


@pytest.mark.parametrize("kind", KINDS)
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


@pytest.mark.parametrize("kind", KINDS)
def test_cards_never_show_clear_contact_data_or_markup(kind: EndpointKind) -> None:
    payload = task_overdue_payload()
    payload["title"] = "回访 13812345678 用户"
    payload["escalated_to"] = {"role": "legal", "person": "zhang.san@example.com"}
    payload["incident"] = CONTEXT | {
        "reasons": ["身份证 11010119900307803X 泄露 <at id=all></at> [点我](https://evil.example)"]
    }

    text = visible_text(render_for(kind, EventType.TASK_OVERDUE, payload))

    assert "138****5678" in text and "13812345678" not in text
    assert "z***@example.com" in text and "zhang.san@" not in text
    assert "110101********803X" in text and "11010119900307803X" not in text
    assert "<at" not in text and "](https://evil.example)" not in text


# --- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "body", "ok"),
    [
        (EndpointKind.WECOM, 200, b'{"errcode":0,"errmsg":"ok"}', True),
        (EndpointKind.WECOM, 200, b'{"errcode":45009,"errmsg":"api freq out of limit"}', False),
        (EndpointKind.WECOM, 200, b'{"errmsg":"ok"}', False),
        (EndpointKind.DINGTALK, 200, b'{"errcode":0,"errmsg":"ok"}', True),
        (EndpointKind.DINGTALK, 200, b'{"errcode":310000,"errmsg":"sign not match"}', False),
        (EndpointKind.DINGTALK, 200, b'{"errcode":false}', False),
        (EndpointKind.DINGTALK, 200, b"<html>gateway</html>", False),
        (EndpointKind.DINGTALK, 502, b'{"errcode":0}', False),
        (EndpointKind.FEISHU, 200, b'{"code":0,"data":{},"msg":"success"}', True),
        (EndpointKind.FEISHU, 200, b'{"StatusCode":0,"StatusMessage":"success"}', True),
        (EndpointKind.FEISHU, 200, b'{"code":19021,"msg":"sign match fail"}', False),
        (EndpointKind.FEISHU, 200, b'{"code":9499,"msg":"Bad Request","StatusCode":0}', False),
        (EndpointKind.FEISHU, 200, b"[0]", False),
        (EndpointKind.FEISHU, 200, b"\xff\xfe", False),
        (EndpointKind.STANDARD, 204, b"", True),
        (EndpointKind.STANDARD, 410, b"", False),
    ],
)
def test_accepted_reads_the_error_code_in_a_200_answer(
    kind: EndpointKind, status: int, body: bytes, ok: bool
) -> None:
    assert accepted(kind, status, body) is ok
    reason = failure_reason(kind, status, body)
    assert (reason is None) is ok


def test_failure_reason_names_the_platform_code() -> None:
    assert failure_reason(EndpointKind.FEISHU, 200, b'{"code":19021,"msg":"sign match fail"}') == (
        "code 19021: sign match fail"
    )
    assert failure_reason(EndpointKind.WECOM, 503, b"busy") == "HTTP 503: busy"
