"""Traces (OpenTelemetry): where a process's spans go, and how a trace crosses the queue.

Off unless configured (`OTEL_*` variables, docs/tracing.md): then nothing is wrapped or
recorded and each hook below costs one check. On, every HTTP request (`http`), every SQL
statement (`database`) and every message staged and consumed (`propagation`) is a span,
and each message carries the W3C trace context of the span that staged it, so one trace
follows a mention from ingest through every worker it reaches.
"""

from libs.tracing.setup import configure_tracing, current_provider, installed

__all__ = ["configure_tracing", "current_provider", "installed"]
