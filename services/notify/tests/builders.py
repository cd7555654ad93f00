"""Builders for the notify tests: a real local receiver, endpoints, events and passes.

The receiver is a FastAPI app served by uvicorn on 127.0.0.1 in a thread, over plain HTTP
or over TLS with a certificate from a test authority. It answers each path from a script of
status codes and, like a real integrator, verifies what it gets with the `standardwebhooks`
library when it knows the path's secret (401 when that fails).
"""

import socket
import ssl
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.messages import CommandResult
from libs.contracts.notify import CreateWebhookEndpoint, SetWebhookPolicy
from libs.contracts.response import IntegrationEventEmitted
from libs.database.engine import transaction
from libs.database.tables import WebhookDelivery, WebhookEndpoint
from libs.privacy import DataKey
from services.notify import endpoints, fanout, policy
from services.notify.worker import dispatch_once


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """What the local receiver got, and what it answers next on each path."""

    base_url: str = ""
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
    receiver.base_url = f"{scheme}://127.0.0.1:{receiver.port}"
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


async def allow_private(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, *, now: datetime
) -> None:
    """Let the organization deliver to private addresses (the receiver is on 127.0.0.1)."""
    command = SetWebhookPolicy(
        organization_id=organization_id, actor="key-admin", allow_private_destinations=True
    )
    async with transaction(sessions) as session:
        assert (await policy.set_policy(session, command, now=now)).ok


async def try_create(
    sessions: async_sessionmaker[AsyncSession],
    key: DataKey,
    organization_id: uuid.UUID,
    url: str,
    *,
    now: datetime,
    event_types: tuple[EventType, ...] = (EventType.INCIDENT_OPENED,),
    kind: EndpointKind = EndpointKind.STANDARD,
    secret: str | None = None,
) -> CommandResult:
    """Run the create command in its own transaction and return its answer."""
    command = CreateWebhookEndpoint(
        organization_id=organization_id,
        actor="key-admin",
        name="ticketing",
        kind=kind,
        url=url,
        event_types=list(event_types),
        secret=secret,
    )
    async with transaction(sessions) as session:
        return await endpoints.create_endpoint(session, command, key, now=now)


async def create(
    sessions: async_sessionmaker[AsyncSession],
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
    return uuid.UUID(result.data["endpoint"]["id"]), str(result.data["secret"])


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
            "incident": summary(incident_id, detected_at=occurred_at),
        },
    )


def summary(incident_id: uuid.UUID, *, detected_at: datetime) -> dict[str, Any]:
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
    sessions: async_sessionmaker[AsyncSession],
    message: IntegrationEventEmitted,
    *,
    now: datetime,
    console_url: str | None = None,
) -> int:
    """Fan `message` out in its own transaction; return how many deliveries were new."""
    async with transaction(sessions) as session:
        return await fanout.fan_out(session, message, now=now, console_url=console_url)


async def dispatch(
    sessions: async_sessionmaker[AsyncSession], key: DataKey, *, now: datetime
) -> int:
    """Run one dispatcher pass at `now`."""
    return await dispatch_once(sessions, key, now=now)


async def deliveries_of(
    sessions: async_sessionmaker[AsyncSession], endpoint_id: uuid.UUID
) -> list[WebhookDelivery]:
    """Return the endpoint's deliveries, oldest first."""
    async with sessions() as session:
        result = await session.exec(
            select(WebhookDelivery)
            .where(col(WebhookDelivery.endpoint_id) == endpoint_id)
            .order_by(col(WebhookDelivery.created_at), col(WebhookDelivery.event_type))
        )
        return list(result.all())


async def endpoint_row(
    sessions: async_sessionmaker[AsyncSession], endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    """Return the stored endpoint."""
    async with sessions() as session:
        row = await session.get(WebhookEndpoint, endpoint_id)
    assert row is not None
    return row
