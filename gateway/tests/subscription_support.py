"""A gateway served by uvicorn on a real socket, and a graphql-transport-ws client.

Subscriptions need what the ASGI test transport cannot give: a WebSocket upgrade and a
server whose lifespan runs the live hub. `serve_gateway` runs uvicorn in the test's event
loop on a socket that listens before the server starts, so a client may connect at once.
Notices come from the real workers (see `tests/gateway`), or from Redis directly.
"""

import asyncio
import json
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.app import create_app
from gateway.live_hub import LiveHub
from libs.settings import Settings

PROTOCOL = Subprotocol("graphql-transport-ws")
# Generous for a loaded machine; a passing test waits only as long as delivery takes.
TIMEOUT = 10.0

# The subscriptions as clients send them.
MENTIONS = """
subscription Live($filter: MentionFilter) {
  mentions(filter: $filter) { databaseId source text analysis { sentiment } }
}
"""
SIGNALS = """
subscription Signals($watchlistId: ID, $minTier: Tier) {
  riskSignals(watchlistId: $watchlistId, minTier: $minTier) { databaseId tier score reasons }
}
"""
INCIDENT_UPDATES = """
subscription Updates($incidentId: ID) {
  incidentUpdates(incidentId: $incidentId) {
    change at incident { databaseId status tier } event { kind message }
  }
}
"""


@dataclass(frozen=True)
class Gateway:
    """A running gateway process stand-in: its WebSocket address and its app."""

    url: str
    app: FastAPI

    @property
    def http_url(self) -> str:
        """The same server's base URL for plain HTTP requests."""
        return "http://" + self.url.removeprefix("ws://").removesuffix("/graphql")

    @property
    def hub(self) -> LiveHub:
        """The app's live hub, to wait until a subscription has started."""
        hub: LiveHub = self.app.state.resources.hub
        return hub

    async def listening(self, organization_id: uuid.UUID, count: int = 1) -> None:
        """Wait until exactly `count` subscriptions of the organization follow its channel."""
        async with asyncio.timeout(TIMEOUT):
            await self.hub.wait_for_listeners(organization_id, count)


@asynccontextmanager
async def serve_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """Serve a gateway on 127.0.0.1 with uvicorn until the block ends."""
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield Gateway(url=f"ws://127.0.0.1:{port}/graphql", app=app)
    finally:
        server.should_exit = True
        await serving
        sock.close()


class Refused(Exception):
    """The server closed the socket; `code` says why (4403: Forbidden)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed with {code}: {reason}")
        self.code = code
        self.reason = reason


class LiveClient:
    """One graphql-transport-ws connection, acknowledged."""

    def __init__(self, socket_: ClientConnection) -> None:
        self._socket = socket_
        self._ids = 0

    async def subscribe(self, query: str, variables: dict[str, Any] | None = None) -> str:
        """Start an operation and return its id."""
        self._ids += 1
        operation = str(self._ids)
        payload = {"query": query, "variables": variables or {}}
        await self._send({"id": operation, "type": "subscribe", "payload": payload})
        return operation

    async def complete(self, operation: str) -> None:
        """Stop an operation."""
        await self._send({"id": operation, "type": "complete"})

    async def receive(self, *, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Return the next operation message (`next`, `error` or `complete`)."""
        async with asyncio.timeout(timeout):
            while True:
                message = await _read(self._socket)
                if message["type"] == "ping":
                    await self._send({"type": "pong"})
                    continue
                if message["type"] != "pong":
                    return message

    async def next_data(self, operation: str, *, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Return the data of the next message, which must be a `next` of `operation`."""
        message = await self.receive(timeout=timeout)
        assert message["type"] == "next" and message["id"] == operation, message
        assert "errors" not in message["payload"], message
        data: dict[str, Any] = message["payload"]["data"]
        return data

    async def _send(self, message: dict[str, Any]) -> None:
        await self._socket.send(json.dumps(message))


async def _read(socket_: ClientConnection) -> dict[str, Any]:
    try:
        raw = await socket_.recv()
    except ConnectionClosed as closed:
        code = closed.rcvd.code if closed.rcvd is not None else None
        reason = closed.rcvd.reason if closed.rcvd is not None else ""
        raise Refused(code, reason) from closed
    message: dict[str, Any] = json.loads(raw)
    return message


@asynccontextmanager
async def live_client(
    url: str, payload: dict[str, Any] | None, *, headers: dict[str, str] | None = None
) -> AsyncIterator[LiveClient]:
    """Connect, send `connection_init` with `payload`, and wait for the acknowledgement.

    Raises `Refused` when the server closes the socket instead of acknowledging.
    """
    async with connect(
        url, subprotocols=[PROTOCOL], additional_headers=headers, open_timeout=TIMEOUT
    ) as socket_:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await socket_.send(json.dumps(init))
        async with asyncio.timeout(TIMEOUT):
            ack = await _read(socket_)
        assert ack["type"] == "connection_ack", ack
        yield LiveClient(socket_)


def bearer(secret: str) -> dict[str, str]:
    """The `connection_init` payload a browser client sends for a key."""
    return {"authorization": f"Bearer {secret}"}
