"""Refuse a request body over the gateway's limit while it arrives, never after parsing it.

The GraphQL router reads the whole body and parses it as JSON before any other check (depth,
aliases, tokens) runs, so without a limit one request of 25 MB costs the memory and the
parse of 25 MB. A console's largest document is a few KB; the largest legitimate variables
are a bulk change such as 1,000 sensitive terms with 1,000 removals, about 700 KB even with
every character `\\u`-escaped. The limit, 1 MiB, leaves room for both.

A declared `Content-Length` over the limit is refused before a byte of the body is read; a
chunked body is counted as it arrives and refused as soon as it passes the limit. The 413
has the shape of every other gateway error. (FastAPI's own `max_body_size` counts the same
way, but answers a declared length with plain text whatever handler is installed.)
"""

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024


def _declared_length(scope: Scope) -> int | None:
    """Return the request's Content-Length, or None when it sent none (or an unreadable one)."""
    for name, value in scope.get("headers", ()):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


class BodyLimit:
    """ASGI middleware that holds every HTTP request body to `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send)
            return
        # Read the body here, up to the limit, and hand it on as if it had just arrived:
        # the router would buffer it all the same, only without counting.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                # The client left before sending it all: the app sees the same.
                await self.app(scope, _replay(message, receive), send)
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay(whole, receive), send)

    async def _too_large(self, send: Send) -> None:
        """Answer 413 in the gateway's error shape and close the connection."""
        body = orjson.dumps(
            {
                "errors": [
                    {
                        "message": f"The request body is over {self.max_bytes} bytes.",
                        "extensions": {"code": "PayloadTooLarge", "maxBytes": self.max_bytes},
                    }
                ]
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(first: Message, receive: Receive) -> Receive:
    """Return a `receive` that yields `first` once, then what the client sends next."""
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed
