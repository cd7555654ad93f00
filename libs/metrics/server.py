"""A worker's own HTTP endpoint: `/metrics`, `/livez` and `/readyz` on `METRICS_PORT`.

A worker answers no HTTP otherwise, so this is a small server on the worker's event loop
(plain asyncio, one request per connection): `/livez` answering proves that loop still
turns, which is all liveness should ask; `/readyz` asks the worker whether PostgreSQL and
Redis answer and it is consuming. A port that cannot be bound is logged, not fatal: the
worker still does its work, and an orchestrator's probes on that port say the rest.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping

from libs.metrics.exposition import CONTENT_TYPE_LATEST, latest
from libs.metrics.probes import readiness_body

log = logging.getLogger(__name__)

Checks = Callable[[], Awaitable[Mapping[str, bool]]]

REQUEST_TIMEOUT_SECONDS = 5.0
MAX_HEAD_BYTES = 8192
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


class ProbeServer:
    """Serve a worker's metrics and probes on `host:port` until stopped."""

    def __init__(self, host: str, port: int, readiness: Checks) -> None:
        self.host = host
        self.port = port
        self._readiness = readiness
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Listen; a port already taken is logged and the worker runs without the server."""
        if self._server is not None:
            return
        try:
            self._server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            log.error("metrics and probes not served on %s:%d: %s", self.host, self.port, exc)
            return
        log.info("metrics and probes on http://%s:%d/metrics", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening; a request in flight is answered first."""
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_SECONDS):
                head = await reader.readuntil(b"\r\n\r\n")
                status, content_type, body = await self._answer(head)
            reason = _REASONS.get(status, "")
            writer.write(
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + (b"" if head.startswith(b"HEAD ") else body)
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            pass  # a client that sent no complete request gets no answer
        except ConnectionError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, head: bytes) -> tuple[int, str, bytes]:
        if len(head) > MAX_HEAD_BYTES:
            return 404, "text/plain", b"not found\n"
        method, _, rest = head.decode("latin-1").partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method not in {"GET", "HEAD"}:
            return 405, "text/plain", b"method not allowed\n"
        if path == "/metrics":
            return 200, CONTENT_TYPE_LATEST, latest()
        if path == "/livez":
            return 200, "application/json", b'{"status": "ok"}'
        if path == "/readyz":
            document, status = readiness_body(await self._readiness())
            return status, "application/json", json.dumps(document).encode()
        return 404, "text/plain", b"not found\n"
