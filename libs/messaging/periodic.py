"""A background loop that stops between passes, never in the middle of one.

Cancelling a pass mid-query would leave its database connection half-used; a stop request
instead lets the current pass finish and ends the loop. A loop given a `Lease` runs its
pass only while this process holds the lease: once per cluster, however many replicas.
The lease is renewed (or, by the others, sought) every few seconds, apart from the loop's
interval, and also while a pass runs: a pass longer than the lease's TTL keeps it, and a
replica that takes over a dead holder's lease runs its pass at once.
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from libs.messaging.failures import is_transient
from libs.messaging.lease import Lease

log = logging.getLogger(__name__)


class Periodic:
    """Run `step` every `interval` seconds in the background of the current event loop."""

    def __init__(
        self,
        name: str,
        step: Callable[[], Awaitable[None]],
        *,
        interval: float,
        lease: Lease | None = None,
    ) -> None:
        self._name = name
        self._step = step
        self._interval = interval
        self._lease = lease
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop; the first pass runs at once."""
        self._task = asyncio.create_task(self._run(), name=self._name)

    async def stop(self) -> None:
        """Ask the loop to stop and wait for its current pass to end."""
        self._stopping.set()
        if self._task is not None:
            await self._task
        if self._lease is not None:
            await self._lease.release()

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                if self._lease is None:
                    await self._step()
                elif await self._lease.take():
                    async with _renewed(self._lease):
                        await self._step()
            except Exception as exc:
                if is_transient(exc):
                    # An outage, not a fault: the next pass tries again; one line says so.
                    log.warning("%s: pass not done, a server is away: %s", self._name, exc)
                else:
                    log.exception("%s: pass failed", self._name)
            await self._wait()

    async def _wait(self) -> None:
        """Wait for the next pass (or a stop); a leased loop meanwhile keeps or seeks its lease.

        Returns early when this process has just taken the lease over: the holder it
        replaces may have died before its pass was due.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._interval
        while not self._stopping.is_set():
            left = deadline - loop.time()
            if left <= 0:
                return
            pause = left if self._lease is None else min(left, self._lease.renew_every)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), pause)
            if self._lease is None or self._stopping.is_set() or loop.time() >= deadline:
                continue
            had = self._lease.held
            if await self._lease.take() and not had:
                return


@contextlib.asynccontextmanager
async def _renewed(lease: Lease) -> AsyncIterator[None]:
    """Renew `lease` in the background while the block (one pass) runs."""
    done = asyncio.Event()

    async def renew() -> None:
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), lease.renew_every)
            if not done.is_set():
                await lease.take()

    renewer = asyncio.create_task(renew(), name=f"lease {lease.name}")
    try:
        yield
    finally:
        done.set()
        await renewer
