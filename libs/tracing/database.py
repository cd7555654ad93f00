"""A span for every SQL statement a request or job runs, under that request's or job's span.

The statement's text is recorded as sent, with placeholders (`$1`) where its values go:
the bound values, personal data among them, never reach the traces. Statements run outside
any span (the periodic loops' polling, start-up) are not traced: each would be a trace of
one span, every few seconds, burying the traces that tell something.
"""

from collections.abc import Mapping, Sequence

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
from opentelemetry.metrics import NoOpMeter
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import AnyValue
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.tracing.setup import INSTRUMENTATION, current_provider

# The instrumentation also counts pool connections; the pool is already in our metrics.
_UNCOUNTED = NoOpMeter(INSTRUMENTATION).create_up_down_counter("db.client.connections.usage")


def trace_statements(engine: AsyncEngine) -> None:
    """Give `engine` a span per statement if this process is traced; otherwise nothing."""
    provider = current_provider()
    if provider is None:
        return
    tracer = _InsideWork(provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"))
    # The instrumentation's own class, used per engine: its instrumentor would wrap every
    # engine any code creates, once per process. It ships without type hints.
    EngineTracer(tracer, engine.sync_engine, _UNCOUNTED)  # type: ignore[no-untyped-call]


class _InsideWork:
    """A tracer that opens spans only inside another span, never a trace of its own.

    Only `start_span`, the one method the instrumentation's statement hooks call.
    """

    def __init__(self, tracer: trace.Tracer) -> None:
        self._tracer = tracer

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Mapping[str, AnyValue] | None = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        """Start the span under the current one, or return a span that records nothing."""
        if not trace.get_current_span(context).get_span_context().is_valid:
            return trace.INVALID_SPAN
        return self._tracer.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )
