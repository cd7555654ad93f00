"""`RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` on ingest's answers.

The key check (`services.ingest.auth`) keeps its verdict on the request; this route class
copies it into the answer's headers, including answers a route builds itself (the POSTs
answer through the idempotency store), which FastAPI's injected `Response` would not reach.
A refusal (429) carries the same fields and `Retry-After` in its problem document's headers.
"""

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from libs.ratelimit import Verdict

_STATE = "rate_limit"


def remember(request: Request, verdict: Verdict) -> None:
    """Keep the admitted request's verdict for its answer's headers."""
    setattr(request.state, _STATE, verdict)


class RateLimitedRoute(APIRoute):
    """A route whose answers carry the caller's remaining budget."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def with_headers(request: Request) -> Response:
            response = await handle(request)
            verdict = getattr(request.state, _STATE, None)
            if isinstance(verdict, Verdict):
                response.headers.update(verdict.headers())
            return response

        return with_headers
