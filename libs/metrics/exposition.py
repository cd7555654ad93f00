"""The text a scrape of `/metrics` returns, in one process or across a server's processes.

With `PROMETHEUS_MULTIPROC_DIR` set (several processes behind one port: uvicorn or gunicorn
workers), prometheus_client keeps every process's values in files there, and a scrape adds
them up from the files; the directory must be empty when the processes start. Unset, the
process's own registry answers.
"""

import os

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"

__all__ = ["CONTENT_TYPE_LATEST", "latest", "metrics_response"]


def latest() -> bytes:
    """Return every metric of this process (or of all the directory's processes) as text."""
    directory = os.environ.get(MULTIPROC_DIR) or os.environ.get(MULTIPROC_DIR.lower())
    if not directory:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


async def metrics_response(_: Request) -> Response:
    """`GET /metrics` of an HTTP service."""
    return Response(latest(), media_type=CONTENT_TYPE_LATEST)
