"""An arq worker that waits out a Redis outage instead of exiting.

arq's `Worker.main` ends at the first error a Redis command raises — polling the queue,
recording a finished job — and a worker started while Redis is down gives up after its
connection retries. A process that exits on an outage needs a supervisor to come back, and
under one it crash-loops for as long as the outage lasts. This worker logs the loss once,
lets its jobs in flight end, drops its idle connections, waits with capped, jittered
back-off and polls again when Redis answers, at start-up as later. It keeps its pool (the
runtime's loops hold it; it opens new connections by itself) and the runtime built at
start-up: only consuming stops. A job whose result could not be recorded keeps its place in
the queue and runs again once its in-progress mark expires; its receipt makes that a no-op
if it had committed. A burst drain still ends on an outage: it has no outage to outlast.

On SIGTERM or SIGINT it drains: it takes no new job, lets the jobs in flight finish for up
to `drain_seconds` (arq would cancel them at once), then stops; a job still running then is
cancelled and runs again elsewhere (its receipt makes a committed one a no-op). Its probe
server (`libs.metrics.server`) answers from the first moment to the last, and it is ready
only while it consumes: started, Redis reachable, not draining.
"""

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import replace
from typing import Any

from arq.worker import Worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from libs.messaging.failures import backoff
from libs.messaging.takeover import LEASE_SECONDS, LeaseKeeper
from libs.metrics.server import ProbeServer

log = logging.getLogger(__name__)

# What a lost, refused or hung Redis connection raises: redis-py wraps socket errors in its
# own, and a few reach here bare. Other OSErrors (a service's model file missing at
# start-up) are faults, not outages, and still end the worker.
LOST = (RedisConnectionError, RedisTimeoutError, ConnectionError, TimeoutError)
# Waits double from 0.25–0.5 s to 2–4 s and stay there: an attempt is one connection from
# one process, and a longer wait is the queue left unread after Redis is back.
RECONNECT_BACKOFF_TRIES = 4
# How long a stop waits for Redis to take the worker's health mark away.
CLOSE_TIMEOUT_SECONDS = 5.0


class ReconnectingWorker(Worker):
    """An arq `Worker` for `consumer` that outlives Redis outages of any length."""

    def __init__(
        self,
        consumer: str,
        *,
        drain_seconds: int = 0,
        probes: ProbeServer | None = None,
        **options: Any,
    ) -> None:
        # arq's own drain: with a completion wait, a stop signal stops picking jobs and
        # waits for the running ones before it cancels what is left.
        super().__init__(job_completion_wait=drain_seconds, **options)
        self.consumer = consumer
        self.probes = probes
        self.started = False
        self.draining = False
        self._outage_since: float | None = None
        self._attempts = 0
        # A short in-progress mark, renewed while the job runs (`libs.messaging.takeover`):
        # a dead worker's jobs are taken over within seconds, not after the longest timeout.
        self.in_progress_timeout_s = LEASE_SECONDS
        self._leases = LeaseKeeper(lambda: self._pool, self._running_job_ids)
        if not self.burst and self.redis_settings is not None:
            # One connection attempt at a time: the waiting between attempts is done here.
            self.redis_settings = replace(self.redis_settings, conn_retries=0)
        startup = self.on_startup

        async def started(ctx: dict[Any, Any]) -> None:
            if startup is not None:
                await startup(ctx)
            self._leases.start()
            self._consuming()

        self.on_startup = started

    @property
    def consuming(self) -> bool:
        """Whether the worker takes jobs now: started, Redis reachable, not draining."""
        return self.started and self._outage_since is None and not self.draining

    def handle_sig_wait_for_completion(self, signum: signal.Signals) -> None:
        """Stop taking jobs and let those in flight finish within the drain bound."""
        if not self.draining:
            self.draining = True
            log.info(
                "%s: stopping: no new jobs, waiting up to %d s for %d in flight",
                self.consumer,
                self._job_completion_wait,
                len(self.tasks),
            )
        super().handle_sig_wait_for_completion(signum)

    async def main(self) -> None:
        """Consume until stopped, waiting for Redis whenever it is away."""
        if self.probes is not None and not self.started:
            await self.probes.start()
        if self.burst:
            await super().main()
            return
        while True:
            try:
                if self._pool is not None and self._outage_since is not None:
                    # Ask before arq announces a start that the first command would end.
                    await self._pool.ping()
                await super().main()
                return
            except LOST as exc:
                self._lost(exc)
            await self._let_jobs_end()
            await self._drop_idle_connections()
            self._attempts += 1
            await asyncio.sleep(backoff(min(self._attempts, RECONNECT_BACKOFF_TRIES)))

    async def close(self) -> None:
        """Stop as arq does, but release the runtime even while Redis is away."""
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        try:
            await self._release()
        finally:
            if self.probes is not None:
                await self.probes.stop()

    async def _release(self) -> None:
        pool = self._pool
        if pool is None:
            return  # never connected, so the runtime was never built
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self._leases.stop()
        if self._outage_since is None:
            try:
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await pool.delete(self.health_check_key)
            except LOST as exc:
                log.info("%s: health mark left to expire: %s", self.consumer, exc)
        if self.on_shutdown is not None:
            await self.on_shutdown(self.ctx)
        await pool.aclose(close_connection_pool=True)
        self._pool = None

    def _running_job_ids(self) -> list[str]:
        return [job_id for job_id, task in self.tasks.items() if not task.done()]

    def _lost(self, exc: BaseException) -> None:
        if self._outage_since is not None:
            log.debug("%s: Redis still unreachable: %s", self.consumer, exc)
            return
        self._outage_since = time.monotonic()
        log.warning(
            "%s: Redis is unreachable (%s: %s); waiting for it with back-off, then consuming again",
            self.consumer,
            type(exc).__name__,
            exc,
        )

    def _consuming(self) -> None:
        if self._outage_since is not None:
            waited = time.monotonic() - self._outage_since
            log.info("%s: Redis is back after %.0f s; consuming again", self.consumer, waited)
        self.started = True
        self._outage_since = None
        self._attempts = 0

    async def _let_jobs_end(self) -> None:
        """Wait for the jobs in flight: their handlers finish, only their results are lost."""
        running = list(self.tasks.values())
        if running:
            await asyncio.wait(running)
        for task in running:
            if task.cancelled():
                continue
            failure = task.exception()
            if failure is not None and not isinstance(failure, LOST):
                log.error("%s: a job ended with %r", self.consumer, failure)
        self.tasks.clear()

    async def _drop_idle_connections(self) -> None:
        """Close the pool's connections to the server that went away; new ones open on use."""
        if self._pool is None:
            return
        with contextlib.suppress(*LOST):
            await self._pool.connection_pool.disconnect(inuse_connections=False)
