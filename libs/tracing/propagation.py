"""A trace across the queue: each message carries the context of the span that staged it.

A message is stamped when it is staged (`producing`): in the outbox, inside the request or
job that caused it, whenever a relay later gets round to publishing it. Its consumer
(`consuming`) continues that trace as a child span, and every line the job logs carries the
trace id. The context is the W3C `traceparent`/`tracestate` pair, in the message's optional
`trace_context` field (`libs.contracts.messages.TraceContext`).
"""

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AnyValue

from libs.contracts.messages import Message, TraceContext
from libs.logs.context import bound
from libs.tracing.setup import current_provider, tracer

M = TypeVar("M", bound=Message)

_W3C = TraceContextTextMapPropagator()
# The queue library: OpenTelemetry's conventions name the messaging system that carries it.
_SYSTEM = "arq"


@contextmanager
def producing(message: M, *, queue: str) -> Iterator[M]:
    """Open the span that creates `message`; yield the message stamped with its context.

    Stamped afresh even if the message came with a context: what counts is where it is
    staged now. Untraced, the message is yielded as it is.
    """
    if current_provider() is None:
        yield message
        return
    job = message.job_name()
    with tracer().start_as_current_span(
        f"create {job}",
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": _SYSTEM,
            "messaging.operation.type": "create",
            "messaging.destination.name": queue,
            "messaging.message.id": str(message.message_id),
            "crisiswatch.message": job,
        },
    ):
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        stamp = TraceContext(
            traceparent=carrier["traceparent"], tracestate=carrier.get("tracestate", "")
        )
        yield message.model_copy(update={"trace_context": stamp})


@contextmanager
def sending(payloads: list[dict[str, Any]]) -> Iterator[None]:
    """Span the sending of staged messages to Redis, linked to each message's own context.

    Right after a commit it sits in the request's or job's trace; from a relay it stands
    alone, its links leading to the traces that staged the messages.
    """
    if current_provider() is None:
        yield
        return
    links = [
        Link(context)
        for payload in payloads
        if (context := _remote(payload.get("trace_context"))) is not None
    ]
    attributes: dict[str, AnyValue] = {
        "messaging.system": _SYSTEM,
        "messaging.operation.type": "send",
        "messaging.batch.message_count": len(payloads),
    }
    with tracer().start_as_current_span(
        "send", kind=SpanKind.PRODUCER, links=links, attributes=attributes
    ):
        yield


@contextmanager
def consuming(queue: str, job: str, payload: Mapping[str, Any]) -> Iterator[trace.Span]:
    """Span one try of a job as the child of the span that staged its message.

    Read from the raw payload, so even a message that fails validation is traced. Lines
    logged inside carry the trace id when the trace is recorded.
    """
    if current_provider() is None:
        yield trace.INVALID_SPAN
        return
    parent = _remote(payload.get("trace_context"))
    with (
        tracer().start_as_current_span(
            f"process {job}",
            context=trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else None,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": _SYSTEM,
                "messaging.operation.type": "process",
                "messaging.destination.name": queue,
                "messaging.message.id": str(payload.get("message_id", "")),
                "crisiswatch.message": job,
            },
        ) as span,
        bound(trace_id=trace_id(span)),
    ):
        yield span


def record_outcome(span: trace.Span, outcome: str) -> None:
    """Note on a job's span how its try ended; a dead letter is an error."""
    span.set_attribute("crisiswatch.outcome", outcome)
    if outcome == "dead_letter":
        span.set_status(StatusCode.ERROR, "kept as a dead letter")


def trace_id(span: trace.Span) -> str | None:
    """Return `span`'s trace id as logs show it (32 hex digits), or None if not recorded."""
    context = span.get_span_context()
    if not context.is_valid or not context.trace_flags.sampled:
        return None
    return trace.format_trace_id(context.trace_id)


def _remote(value: object) -> trace.SpanContext | None:
    """Return the span context a message carries, or None if it carries none that is valid."""
    if not isinstance(value, Mapping):
        return None
    carrier = {key: text for key, text in value.items() if isinstance(text, str)}
    context = trace.get_current_span(_W3C.extract(carrier)).get_span_context()
    return context if context.is_valid else None
