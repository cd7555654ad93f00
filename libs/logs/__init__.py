"""How a process logs: one structured setup, masked, each line marked with its work's ids.

`configure_logging()` once at process start (the CLI does it for every service); HTTP
services are served wrapped in `libs.logs.http.RequestContext`, and a worker's jobs are
bound by `libs.messaging.job_logs.bind_jobs`. docs/logging.md lists the fields and how to read them.
"""

from typing import TYPE_CHECKING

from libs.logs.context import TRACE_ID, bind, bound
from libs.logs.setup import configure_logging as _configure
from libs.logs.setup import log_config

if TYPE_CHECKING:
    from libs.messaging.worker import Worker

__all__ = ["TRACE_ID", "bind", "bound", "configure_logging", "log_config"]


def configure_logging(worker: "Worker | None" = None, *, development: bool | None = None) -> None:
    """Set up this process's logging (see `libs.logs.setup`); given the process's `worker`,
    also mark each of its jobs' lines with the job's ids."""
    _configure(development)
    if worker is not None:
        from libs.messaging.job_logs import bind_jobs

        bind_jobs(worker)
