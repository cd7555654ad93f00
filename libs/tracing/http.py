"""Spans for the HTTP services: one server span per request, its trace id on every line.

The span continues a caller's trace when the request carries a `traceparent` header (a
proxy that should not be trusted with that strips it). Probes and scrapes are not traced:
they arrive every few seconds and say nothing about the work.
"""

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from libs.logs.context import bound
from libs.settings import Settings
from libs.tracing.propagation import trace_id
from libs.tracing.setup import configure_tracing, current_provider

# Regular expressions searched in the full URL.
UNTRACED = r"/metrics$,/livez$,/readyz$,/healthz$"


def trace_requests(app: FastAPI, service: str, settings: Settings) -> None:
    """Trace `app`'s requests if this process is traced (configured here on first use).

    Added last, so the span is the outermost of the app's middleware and times them all.
    Untraced, nothing is added.
    """
    configure_tracing(service, settings)
    provider = current_provider()
    if provider is None:
        return
    app.add_middleware(TraceIds)
    app.add_middleware(
        OpenTelemetryMiddleware,
        tracer_provider=provider,
        excluded_urls=UNTRACED,
        # One span per request; not one more per chunk of its body read or written.
        exclude_spans=["receive", "send"],
    )


class TraceIds:
    """ASGI middleware inside the server span: the request's lines carry its trace id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request with the current span's trace id bound for logging."""
        with bound(trace_id=trace_id(trace.get_current_span())):
            await self.app(scope, receive, send)
