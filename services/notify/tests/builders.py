"""Builders for the notify tests: a real local receiver, organizations, endpoints, events,
dispatcher passes, attempts, and the event payloads chat cards are made from.

The receiver is a FastAPI app served by uvicorn on 127.0.0.1 in a thread, over plain HTTP
or over TLS with a certificate from a test authority; deliveries reach it by its address on
the test network (`network`), since loopback itself is always refused. It answers each path
from a script of status codes and, like a real integrator, verifies what it gets with the
`standardwebhooks` library when it knows the path's secret (401 when that fails).

Database builders take a session factory and open their own transactions, like the worker:
service-level tests pass `rolled_back`, tests that need several connections `sessions`.
It is the package's one builders module, so it holds all three kinds and runs past 400 lines.
"""

import socket
import ssl
import threading
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.events import (
    Escalation,
    EventBody,
    ImprovementItem,
    IncidentOpened,
    IncidentStatusChanged,
    IncidentTierChanged,
    ReviewCompleted,
    StatementPublished,
    TaskOverdue,
)
from libs.contracts.messages import CommandResult
from libs.contracts.notify import CreateWebhookEndpoint
from libs.contracts.outcome import Outcome
from libs.contracts.response import IntegrationEventEmitted
from libs.database.engine import transaction
from libs.database.tables import WebhookDelivery, WebhookEndpoint
from libs.privacy import DataKey
from services.notify import service
from services.notify.chat.chat import ChatRequest, render
from services.notify.delivery import fanout
from services.notify.delivery.delivery import Attempt
from services.notify.endpoints.destinations import PrivateNetworks, Resolver, resolve
from services.notify.endpoints.webhook_secrets import generate_secret
from services.notify.tests.network import NETWORK, RECEIVER, network_client
from services.notify.worker import dispatch_once
from tests.builders import Sessions, read_all
from tests.builders import organization as new_organization

NOW = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)
PUBLIC = "https://93.184.215.14/hooks/crisiswatch"
"""A public address: endpoints there are accepted without a policy, never reached in tests."""


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the local receiver got, and what it answers next on each path.

    `base_url` is its address on the test network, `loopback_url` the one it listens on.
    """

    base_url: str = ""
    loopback_url: str = ""
    port: int = 0
    received: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)
    scripts: dict[str, deque[tuple[int, bytes, dict[str, str]]]] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    refused: dict[str, set[str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        """Return the full URL of `path` on this receiver."""
        return f"{self.base_url}/{path}"

    def answer(
        self,
        path: str,
        *statuses: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next requests to `path` with `statuses` (`body`, `headers`), then 204."""
        with self.lock:
            self.scripts.setdefault(path, deque()).extend(
                (status, body, dict(headers or {})) for status in statuses
            )

    def refuse(self, path: str, webhook_id: uuid.UUID) -> None:
        """Always answer 422 to requests to `path` carrying this `webhook-id`."""
        with self.lock:
            self.refused.setdefault(path, set()).add(str(webhook_id))

    def verify_with(self, path: str, secret: str) -> None:
        """Verify requests to `path` with `secret` and answer 401 when they do not verify."""
        self.secrets[path] = secret

    def on(self, path: str) -> list[Received]:
        """Return the requests `path` received, oldest first."""
        with self.lock:
            return [request for request in self.received if request.path == path]

    def reset(self) -> None:
        """Forget everything received and scripted."""
        with self.lock:
            self.received.clear()
            self.server_names.clear()
            self.scripts.clear()
            self.secrets.clear()
            self.refused.clear()


def receiver_app(receiver: Receiver) -> FastAPI:
    """Return the receiver's app: record, verify when it can, answer from the script."""
    app = FastAPI()

    @app.post("/{path}")
    async def receive(path: str, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        with receiver.lock:
            receiver.received.append(Received(path, headers, body))
            script = receiver.scripts.get(path)
            status, answer, extra = script.popleft() if script else (204, b"", {})
            refused = headers.get("webhook-id") in receiver.refused.get(path, set())
        secret = receiver.secrets.get(path)
        if secret is not None:
            try:
                Webhook(secret).verify(body, headers)
            except WebhookVerificationError:
                return Response(status_code=401)
        if refused:
            return Response(status_code=422, content=b"unknown incident")
        return Response(
            status_code=status, content=answer, media_type="application/json", headers=extra
        )

    return app


def serve_receiver(
    tls: Callable[[Callable[[str | None], None]], ssl.SSLContext] | None = None,
) -> Iterator[Receiver]:
    """Serve a receiver on 127.0.0.1; the socket listens before the server starts, so
    requests made right away wait in the backlog instead of failing.

    `tls` builds the server's TLS context from a callback that records each client's server
    name (SNI); without it the receiver speaks plain HTTP.
    """
    receiver = Receiver()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    receiver.port = sock.getsockname()[1]
    scheme = "https" if tls else "http"
    receiver.base_url = f"{scheme}://{RECEIVER}:{receiver.port}"
    receiver.loopback_url = f"{scheme}://127.0.0.1:{receiver.port}"
    context = tls(receiver.server_names.append) if tls else None
    server = uvicorn.Server(
        uvicorn.Config(
            receiver_app(receiver),
            log_level="warning",
            lifespan="off",
            ssl_context_factory=(lambda _config, _default: context) if context else None,
        )
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield receiver
    server.should_exit = True
    thread.join(timeout=30)
    sock.close()


def verifies(secret: str, request: Received) -> bool:
    """Return whether `request` verifies with `secret` by the standardwebhooks library."""
    try:
        Webhook(secret).verify(request.body, request.headers)
    except WebhookVerificationError:
        return False
    return True


async def organization(sessions: Sessions) -> uuid.UUID:
    """Create an organization of its own (a unique slug) and return its id."""
    async with transaction(sessions) as session:
        return (await new_organization(session)).id


async def run(
    sessions: Sessions, handle: Callable[[AsyncSession], Awaitable[Outcome]]
) -> CommandResult:
    """Run a service handler in its own transaction, as the worker does; return its answer."""
    async with transaction(sessions) as session:
        outcome = await handle(session)
    assert outcome.result is not None, outcome
    assert outcome.messages == ()
    return outcome.result


def create_command(
    organization_id: uuid.UUID,
    url: str,
    *,
    event_types: tuple[EventType, ...] = (EventType.INCIDENT_OPENED,),
    kind: EndpointKind = EndpointKind.STANDARD,
    secret: str | None = None,
) -> CreateWebhookEndpoint:
    """Return the command that registers an endpoint named `ticketing` at `url`."""
    return CreateWebhookEndpoint(
        organization_id=organization_id,
        actor="key-admin",
        name="ticketing",
        kind=kind,
        url=url,
        event_types=list(event_types),
        secret=secret,
    )


async def try_create(
    sessions: Sessions,
    key: DataKey,
    organization_id: uuid.UUID,
    url: str,
    *,
    now: datetime,
    event_types: tuple[EventType, ...] = (EventType.INCIDENT_OPENED,),
    kind: EndpointKind = EndpointKind.STANDARD,
    secret: str | None = None,
    private: PrivateNetworks = NETWORK,
) -> CommandResult:
    """Run the create command in its own transaction, `private` being the operator's list
    (the test network unless said otherwise), and return its answer."""
    command = create_command(
        organization_id, url, event_types=event_types, kind=kind, secret=secret
    )
    return await run(
        sessions, lambda s: service.create_endpoint(s, command, key, now=now, private=private)
    )


async def create(
    sessions: Sessions,
    key: DataKey,
    organization_id: uuid.UUID,
    url: str,
    *,
    now: datetime,
    event_types: tuple[EventType, ...] = (EventType.INCIDENT_OPENED,),
) -> tuple[uuid.UUID, str]:
    """Create a standard endpoint and return its id and the secret answered once."""
    result = await try_create(sessions, key, organization_id, url, now=now, event_types=event_types)
    assert result.ok, result.error
    return uuid.UUID(result.data["endpoint"]["id"]), str(result.once["secret"])


async def local_endpoint(
    sessions: Sessions, key: DataKey, url: str, *, now: datetime
) -> tuple[uuid.UUID, uuid.UUID, str]:
    """Create an organization and a standard endpoint at `url` (on the test network); return
    the organization's id, the endpoint's id and its secret."""
    organization_id = await organization(sessions)
    endpoint_id, secret = await create(sessions, key, organization_id, url, now=now)
    return organization_id, endpoint_id, secret


def event(
    organization_id: uuid.UUID,
    *,
    occurred_at: datetime,
    type_: EventType = EventType.INCIDENT_OPENED,
    payload: dict[str, Any] | None = None,
    event_id: uuid.UUID | None = None,
) -> IntegrationEventEmitted:
    """Return an integration event as the incidents service publishes it."""
    incident_id = uuid.uuid4()
    return IntegrationEventEmitted(
        organization_id=organization_id,
        event_id=event_id or uuid.uuid4(),
        type=type_,
        incident_id=incident_id,
        occurred_at=occurred_at,
        payload=payload
        or {
            "incident_id": str(incident_id),
            "title": "「奶粉」中度舆情危机",
            "tier": "orange",
            "incident": incident_summary(incident_id, detected_at=occurred_at),
        },
    )


def incident_summary(incident_id: uuid.UUID, *, detected_at: datetime) -> dict[str, Any]:
    """Return an incident summary as the incidents service adds it to every event."""
    return {
        "id": str(incident_id),
        "title": "「奶粉」中度舆情危机",
        "status": "detected",
        "tier": "orange",
        "crisis_type": "product_quality",
        "watchlist": {"id": str(uuid.uuid4()), "name": "奶粉"},
        "detected_at": detected_at.isoformat(),
        "reasons": ["负面声量为基线的 4.1 倍"],
        "tasks": [
            {
                "id": str(uuid.uuid4()),
                "kind": "acknowledge",
                "title": "确认事件并启动监测",
                "role": "monitor",
                "channel": None,
                "due_at": (detected_at + timedelta(minutes=30)).isoformat(),
                "overdue": False,
            }
        ],
    }


async def emit(
    sessions: Sessions,
    message: IntegrationEventEmitted,
    *,
    now: datetime,
    console_url: str | None = None,
) -> int:
    """Fan `message` out in its own transaction; return how many deliveries were new."""
    async with transaction(sessions) as session:
        return await fanout.fan_out(session, message, now=now, console_url=console_url)


async def delivered_once(
    sessions: Sessions, key: DataKey
) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """Give a new organization a public endpoint and one event for it at NOW.

    Return the organization, the endpoint and the event: one delivery of it is pending.
    """
    org = await organization(sessions)
    endpoint_id, _ = await create(sessions, key, org, PUBLIC, now=NOW)
    message = event(org, occurred_at=NOW)
    await emit(sessions, message, now=NOW)
    return org, endpoint_id, message.event_id


async def dispatch(
    sessions: Sessions,
    key: DataKey,
    *,
    now: datetime,
    private: PrivateNetworks = NETWORK,
    resolve: Resolver = resolve,
) -> int:
    """Run one dispatcher pass at `now`, the test network in the operator's list unless
    `private` says otherwise."""
    async with network_client() as client:
        return await dispatch_once(
            sessions, key, now=now, client=client, private=private, resolve=resolve
        )


async def forget_other_deliveries(sessions: Sessions) -> None:
    """Delete every delivery already stored, inside a rolled-back test's transaction.

    A dispatcher pass sends what is due for every organization; this keeps rows committed
    by earlier tests in the same database out of the passes of a test that is undone.
    """
    async with transaction(sessions) as session:
        await session.exec(delete(WebhookDelivery))


async def deliveries_of(sessions: Sessions, endpoint_id: uuid.UUID) -> list[WebhookDelivery]:
    """Return the endpoint's deliveries, oldest first."""
    query = select(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint_id)
    return await read_all(
        sessions,
        query.order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.event_type)),
    )


async def endpoint_row(sessions: Sessions, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """Return the stored endpoint."""
    async with sessions() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
    assert row is not None
    return row


def attempt(
    url: str,
    *,
    kind: EndpointKind = EndpointKind.STANDARD,
    event_type: str = "incident.opened",
    data: dict[str, Any] | None = None,
) -> Attempt:
    """Return a claimed delivery of `event_type`, signed with a fresh secret if standard."""
    now = datetime.now(UTC).replace(microsecond=0)
    return Attempt(
        delivery_id=uuid.uuid4(),
        organization_id=uuid.uuid4(),
        endpoint_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        event_type=event_type,
        kind=kind.value,
        url=url,
        body={"type": event_type, "timestamp": now.isoformat(), "data": data or {}},
        secrets=[generate_secret()] if kind is EndpointKind.STANDARD else [],
        lease=now,
    )


# --- chat: bots, events as the incidents service emits them, rendered requests -------------

SENT_AT = datetime(2025, 3, 1, 8, 0, 5, tzinfo=UTC)  # 16:00:05 in Beijing
WECOM_KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
DINGTALK_TOKEN = "a1b2c3"
DINGTALK_SECRET = "SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd"
FEISHU_SECRET = "demo-feishu-secret"
CONSOLE = "https://console.example.com/incidents"
INCIDENT_ID = uuid.UUID("7d4f8a52-3c1e-4b7a-9e0f-2a6b5c8d9e10")
WATCHLIST_ID = uuid.UUID("0b9c2f4e-1d3a-4e5f-8a7b-6c5d4e3f2a1b")
OVERDUE_TASK_ID = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d")
CHAT_KINDS = [EndpointKind.WECOM, EndpointKind.DINGTALK, EndpointKind.FEISHU]
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


def chat_event(type_: EventType, payload: dict[str, Any]) -> IntegrationEventEmitted:
    """Return an event about the incident `INCIDENT_ID`, sent at `SENT_AT`."""
    return IntegrationEventEmitted(
        organization_id=uuid.uuid4(),
        event_id=uuid.uuid4(),
        type=type_,
        incident_id=INCIDENT_ID,
        occurred_at=SENT_AT,
        payload=payload,
    )


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


def with_summary(body: EventBody, **changes: Any) -> dict[str, Any]:
    """Return an event's payload as the incidents service sends it: its body and the summary."""
    return body.body() | {"incident": summary(**changes)}


def opened_payload() -> dict[str, Any]:
    """Return an `incident.opened` payload with every field, four reasons and the summary."""
    body = IncidentOpened(
        incident_id=INCIDENT_ID,
        title="「禾岚乳业」严重舆情危机",
        tier="red",
        status="detected",
        watchlist_id=uuid.uuid4(),
        story_id=None,
        crisis_type="product_quality",
        detected_at=datetime(2025, 3, 1, 7, 58, tzinfo=UTC),
        signal_id=uuid.uuid4(),
        score=87.5,
        reasons=["负面声量为基线的 6.2 倍", "媒体大号转发", "敏感词：腹泻", "第四条理由"],
        playbook="默认预案",
        recurrence_of_id=None,
    )
    return with_summary(body, status="detected")


def tier_changed_payload() -> dict[str, Any]:
    """Return an `incident.tier_changed` payload: orange to red, by the system."""
    body = IncidentTierChanged(
        incident_id=INCIDENT_ID,
        from_="orange",
        to="red",
        actor="system",
        reasons=["负面声量为基线的 6.2 倍"],
        added_tasks=["legal_review"],
        timeline_event_id=uuid.uuid4(),
    )
    return with_summary(body)


def status_changed_payload() -> dict[str, Any]:
    """Return an `incident.status_changed` payload: acknowledged to responding, with a reason."""
    body = IncidentStatusChanged(
        incident_id=INCIDENT_ID,
        from_="acknowledged",
        to="responding",
        actor="key-1",
        reason="负面声量为基线的 6.2 倍，启动处置",
        timeline_event_id=uuid.uuid4(),
    )
    return with_summary(body)


def task_overdue_payload() -> dict[str, Any]:
    """Return a `task.overdue` payload: the first statement 12 minutes late, sent to legal."""
    body = TaskOverdue(
        task_id=OVERDUE_TASK_ID,
        kind="first_statement",
        title="发布首次公开声明",
        role="spokesperson",
        channel=None,
        due_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
        breached_at=datetime(2025, 3, 1, 12, 12, 30, tzinfo=UTC),
        minutes_late=12,
        escalated_to=Escalation(role="legal", person="王律师"),
    )
    return with_summary(body, tasks=OVERDUE_TASKS)


def statement_payload() -> dict[str, Any]:
    """Return a `statement.published` payload: on Weibo, with its URL."""
    body = StatementPublished(
        statement_id=uuid.uuid4(),
        incident_id=INCIDENT_ID,
        channel="weibo",
        url="https://weibo.com/1234567890/Abcdef",
        published_at=datetime(2025, 3, 1, 11, 30, tzinfo=UTC),
    )
    return with_summary(body)


def review_payload() -> dict[str, Any]:
    """Return a `review.completed` payload with a root cause and one improvement."""
    improvement = ImprovementItem(
        action="发布首次公开声明的模板预审",
        owner="公关部",
        due_at=datetime(2025, 3, 8, 12, 0, tzinfo=UTC),
    )
    body = ReviewCompleted(
        review_id=uuid.uuid4(),
        incident_id=INCIDENT_ID,
        completed_by="key-2",
        root_cause="负面声量为基线的 6.2 倍时未及时升级",
        improvements=[improvement],
        stages_missed=1,
        tasks_missed=2,
    )
    return with_summary(body, status="resolved", tasks=[])


def bot(kind: EndpointKind, base: str = "https://bots.example.com") -> tuple[str, str | None]:
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
    """Render the event for a configured bot of `kind`, linking to `CONSOLE`."""
    url, secret = bot(kind, base)
    return render(kind, url, secret, chat_event(type_, payload), now, console_url=CONSOLE)


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
