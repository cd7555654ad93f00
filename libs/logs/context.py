"""What identifies the work a log line belongs to, kept in context variables.

Each HTTP request, each queued job runs in its own asyncio task with its own copy of the
context, so binding an id there marks every line that work logs, in any module, without
passing a logger around: the request id for HTTP, the message id and job name in workers,
the organization id once the caller or the message names one.

`trace_id` is on every line, empty until tracing fills it: set `TRACE_ID` (or wrap work in
`bound(trace_id=...)`) from the span that is current, and every line of that work carries it.
"""

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import structlog

# Fields that name the work; every line carries those that are bound where it was logged.
REQUEST_ID = "request_id"
MESSAGE_ID = "message_id"
JOB = "job"
ORGANIZATION_ID = "organization_id"

TRACE_ID: ContextVar[str] = ContextVar("crisiswatch_trace_id", default="")


@contextmanager
def bound(**ids: object) -> Iterator[None]:
    """Mark every line logged inside the block with `ids` (None values are left out)."""
    given = {name: str(value) for name, value in ids.items() if value is not None}
    trace = given.pop("trace_id", None)
    token = TRACE_ID.set(trace) if trace is not None else None
    try:
        with structlog.contextvars.bound_contextvars(**given):
            yield
    finally:
        if token is not None:
            TRACE_ID.reset(token)


def bind(**ids: object) -> None:
    """Mark the rest of the current task's lines with `ids`, e.g. the caller's organization
    once its key is known (the task ends with its request, and the marks with it)."""
    structlog.contextvars.bind_contextvars(
        **{name: str(value) for name, value in ids.items() if value is not None}
    )


def add_trace_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Processor: put the current trace id on the line, empty when no trace is recorded."""
    event.setdefault("trace_id", TRACE_ID.get())
    return event
