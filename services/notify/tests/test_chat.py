"""Chat alerts: each platform's signature, checked the way the platform checks it, and answers.

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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit, urlunsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request

from libs.contracts.enums import EndpointKind, EventType
from services.notify.chat.chat import (
    MAX_MARKDOWN_BYTES,
    ChatRequest,
    accepted,
    failure_reason,
    render,
)
from services.notify.tests.builders import (
    CHAT_KINDS,
    CONSOLE,
    DINGTALK_SECRET,
    DINGTALK_TOKEN,
    FEISHU_SECRET,
    INCIDENT_ID,
    OPEN_TASKS,
    SENT_AT,
    WECOM_KEY,
    bot,
    chat_event,
    opened_payload,
    render_for,
    review_payload,
    summary,
    task_overdue_payload,
    tier_changed_payload,
)

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
        EndpointKind.DINGTALK,
        url,
        DINGTALK_SECRET,
        chat_event(EventType.INCIDENT_OPENED, {}),
        SENT_AT,
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
    ding = render(
        EndpointKind.DINGTALK, url, None, chat_event(EventType.INCIDENT_OPENED, {}), SENT_AT
    )
    feishu = render(
        EndpointKind.FEISHU,
        "https://f.example/hook/x",
        "",
        chat_event(EventType.INCIDENT_OPENED, {}),
        SENT_AT,
    )

    assert ding.url == url
    assert "sign" not in feishu.json_body and "timestamp" not in feishu.json_body


def test_render_refuses_naive_times_and_standard_endpoints() -> None:
    opened = chat_event(EventType.INCIDENT_OPENED, opened_payload())
    with pytest.raises(ValueError, match="timezone-aware"):
        render(EndpointKind.FEISHU, "https://f.example/h", "s", opened, datetime(2025, 3, 1))
    with pytest.raises(ValueError, match="not chat bots"):
        render(EndpointKind.STANDARD, "https://example.com/h", "s", opened, SENT_AT)


# --- against the local platforms ------------------------------------------------------------


@pytest.mark.parametrize("kind", CHAT_KINDS)
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
    url, _ = bot(EndpointKind.DINGTALK, base_url)
    request = render(
        EndpointKind.DINGTALK, url, "SECwrong", chat_event(EventType.INCIDENT_OPENED, {}), SENT_AT
    )

    response = await post(request)

    assert failure_reason(EndpointKind.DINGTALK, response.status_code, response.content) == (
        "the platform refused the message: errcode 310000"
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
        "the platform refused the message: errcode 93000"
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


def test_failure_reason_names_the_platform_code_and_never_quotes_the_answer() -> None:
    assert failure_reason(EndpointKind.FEISHU, 200, b'{"code":19021,"msg":"sign match fail"}') == (
        "the platform refused the message: code 19021"
    )
    assert failure_reason(EndpointKind.WECOM, 503, b"busy") == "receiver answered 503"
    assert failure_reason(EndpointKind.DINGTALK, 200, b'{"errcode":12345678901}') == (
        "the platform refused the message: errcode is not one of its codes"
    )
