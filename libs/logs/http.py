"""A request id on every line an HTTP request logs, and on its answer.

A caller (or the proxy in front) may send `X-Request-ID` to follow its request through our
logs; anything else gets a fresh id. Either way the answer carries it back in the same
header, so a client's bug report can name the lines to look at.
"""

import re
import uuid
from collections.abc import Callable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from libs.logs.context import REQUEST_ID, bound
from libs.privacy import mask_text

HEADER = "X-Request-ID"
# An id is a token, not a place for text: a client's own id is kept only if it looks like one
# and holds nothing that reads as personal data (it is logged in clear).
_ACCEPTED = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id(given: str | None) -> str:
    """Return the caller's id if it is a plain token free of personal data, else a new one."""
    if given and _ACCEPTED.fullmatch(given) and mask_text(given) == given:
        return given
    return str(uuid.uuid4())


class RequestContext:
    """ASGI middleware: bind the request id for the whole request and answer it back.

    Wrapped around the whole application, so uvicorn's access line, written when the answer
    starts, and its report of an unhandled error carry the id too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request (or WebSocket) with its id bound; other scopes pass through."""
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = MutableHeaders(scope=scope)
        rid = request_id(headers.get(HEADER))

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)[HEADER] = rid
            await send(message)

        with bound(**{REQUEST_ID: rid}):
            await self.app(scope, receive, answer)


def with_request_context(factory: Callable[[], ASGIApp]) -> Callable[[], RequestContext]:
    """Return an app factory for uvicorn that wraps what `factory` builds in RequestContext."""

    def build() -> RequestContext:
        return RequestContext(factory())

    return build
