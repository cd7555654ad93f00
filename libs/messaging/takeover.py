"""Short in-progress leases, renewed while a job runs, so a dead worker's job moves on fast.

arq marks a job in progress for the longest route timeout plus ten seconds (70 s and more
here) and no other worker touches the job until the mark expires: a worker killed in the
middle of a batch leaves that batch, possibly a crisis, waiting for over a minute. The
worker here marks each job for `LEASE_SECONDS` and renews the marks of the jobs it still
runs every `RENEW_SECONDS`: while it lives its jobs stay its own however long they run,
and once it dies (or is frozen: a SIGSTOP, a host that stalls) its jobs are free within
`LEASE_SECONDS`. A job taken over while its first runner was only frozen runs twice at
worst, and the second finds the first's receipt: the harness makes that a no-op.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix

from libs.background import BackgroundTask

log = logging.getLogger(__name__)

LEASE_SECONDS = 10.0
# Three renewals per lease: one lost to a slow Redis round trip still leaves two.
RENEW_SECONDS = 3.0


async def renew(pool: ArqRedis, job_ids: Iterable[str], lease: float = LEASE_SECONDS) -> None:
    """Push back the in-progress marks of `job_ids` to `lease` seconds from now.

    A mark that is already gone (the job finished between the listing and the renewal)
    stays gone: PEXPIRE does not create keys.
    """
    ids = list(job_ids)
    if not ids:
        return
    async with pool.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.pexpire(in_progress_key_prefix + job_id, int(lease * 1000))
        await pipe.execute()


class LeaseKeeper:
    """Renews the in-progress marks of a worker's running jobs until stopped."""

    def __init__(
        self,
        pool: Callable[[], ArqRedis | None],
        running: Callable[[], Iterable[str]],
        *,
        every: float = RENEW_SECONDS,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self._pool = pool
        self._running = running
        self._every = every
        self._lease = lease
        self._background = BackgroundTask("in-progress leases", self._run)
        self.start = self._background.start
        self.stop = self._background.stop

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every)
            pool = self._pool()
            if pool is None:
                continue
            try:
                await renew(pool, self._running(), self._lease)
            except Exception as exc:  # an outage: the marks lapse, the jobs are retried
                log.debug("in-progress leases not renewed: %s", exc)
