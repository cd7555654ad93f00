"""A span for every SQL statement an engine runs, under the request's or job's span.

The statement's text is recorded as sent, with placeholders (`$1`) where its values go:
the bound values, personal data among them, never reach the traces.
"""

from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeter
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.tracing.setup import INSTRUMENTATION, current_provider

# The instrumentation also counts pool connections; the pool is already in our metrics.
_UNCOUNTED = NoOpMeter(INSTRUMENTATION).create_up_down_counter("db.client.connections.usage")


def trace_statements(engine: AsyncEngine) -> None:
    """Give `engine` a span per statement if this process is traced; otherwise nothing."""
    provider = current_provider()
    if provider is None:
        return
    tracer = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    # The instrumentation's own class, used per engine: its instrumentor would wrap every
    # engine any code creates, once per process. It ships without type hints.
    EngineTracer(tracer, engine.sync_engine, _UNCOUNTED)  # type: ignore[no-untyped-call]
