"""Job context for queue workers: each job's lines carry its job name, message id and
organization id.

arq runs every job in its own task, so ids bound at the start of a job mark exactly the
lines that job logs (the harness's, the handler's, the database driver's) and no other
job's. arq's own start and finish lines carry the message id (arq's job id) too, and name
the job in their text (`<message id>:<job>`).
"""

import dataclasses
import functools
from typing import Any

from arq.worker import Function, Worker

from libs.logs.context import JOB, MESSAGE_ID, ORGANIZATION_ID, bind, bound


def bind_jobs(worker: Worker) -> Worker:
    """Make every job `worker` runs log with its ids bound; returns `worker` itself."""
    for name, job in list(worker.functions.items()):
        if isinstance(job, Function):
            worker.functions[name] = dataclasses.replace(
                job, coroutine=_with_ids(name, job.coroutine)
            )
    then = worker.on_job_start

    async def started(ctx: dict[str, Any]) -> None:
        # Runs in the task arq made for this job, before it logs the job's start.
        bind(**{MESSAGE_ID: ctx.get("job_id")})
        if then is not None:
            await then(ctx)

    worker.on_job_start = started
    return worker


def _with_ids(name: str, run: Any) -> Any:
    @functools.wraps(run)
    async def job(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        payload = args[0] if args and isinstance(args[0], dict) else {}
        ids = {
            JOB: name,
            MESSAGE_ID: payload.get("message_id") or ctx.get("job_id"),
            ORGANIZATION_ID: payload.get("organization_id"),
        }
        with bound(**ids):
            return await run(ctx, *args, **kwargs)

    return job
