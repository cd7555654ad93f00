"""Count an HTTP service's requests by route template and status code.

The route is the template that matched (`/v1/mentions/{mention_id}`), never the raw path, so
the label stays bounded whatever clients send; a request no route matched is `unmatched`.
"""

from prometheus_client import Counter
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNMATCHED = "unmatched"


class RequestMetrics:
    """ASGI middleware that counts each HTTP request once its answer starts."""

    def __init__(self, app: ASGIApp, *, counter: Counter) -> None:
        self.app = app
        self.counter = counter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500  # an app that raises before answering is answered 500 by the server

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: BaseRoute | None = scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED
            self.counter.labels(route=f"{scope['method']} {template}", status=str(status)).inc()
