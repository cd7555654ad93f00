"""The process's tracer provider: built once from the environment, or none at all.

The provider is kept here rather than only in OpenTelemetry's global, which can be set once
per process: a test installs its own (`installed`) and takes it away again, and code that
asks `current_provider()` sees exactly that. Production sets the global too, so any library
that traces through the global API reports to the same place.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

from libs.settings import Settings, get_settings

INSTRUMENTATION = "crisiswatch"

_provider: TracerProvider | None = None


def configure_tracing(service: str, settings: Settings | None = None) -> bool:
    """Trace this process if its settings name an exporter; return whether it is traced.

    Called by every entry point; the first call decides, later ones (and a provider a test
    installed) stand. `service` names the process (`crisiswatch-<service>`) unless
    `OTEL_SERVICE_NAME` does. Spans leave in batches from a background thread, so a slow
    collector delays nobody; the SDK flushes them when the process exits.
    """
    global _provider
    if _provider is not None:
        return True
    exporter = _exporter((settings or get_settings()).traces_exporter)
    if exporter is None:
        return False
    named = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: f"crisiswatch-{service}"}
    # The sampler comes from OTEL_TRACES_SAMPLER (parent-based, always on by default).
    provider = TracerProvider(resource=Resource.create(named))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider
    return True


def _exporter(name: str | None) -> SpanExporter | None:
    if name is None:
        return None
    if name == "otlp":
        # Imported only when used: the exporter pulls in protobuf and an HTTP client.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        # Endpoint, headers, timeout and compression from the OTEL_EXPORTER_OTLP_* variables.
        return OTLPSpanExporter()
    if name == "console":
        return ConsoleSpanExporter()
    raise ValueError(f"OTEL_TRACES_EXPORTER={name!r} is not supported: use otlp, console or none")


def current_provider() -> TracerProvider | None:
    """Return the provider spans go to, or None when this process is not traced."""
    return _provider


def tracer() -> trace.Tracer:
    """Return the tracer of crisiswatch's own spans (a no-op one when not traced)."""
    if _provider is None:
        return trace.NoOpTracer()
    return _provider.get_tracer(INSTRUMENTATION)


@contextmanager
def installed(provider: TracerProvider) -> Iterator[TracerProvider]:
    """Trace with `provider` inside the block (tests, benchmarks), then as before."""
    global _provider
    before, _provider = _provider, provider
    try:
        yield provider
    finally:
        _provider = before
