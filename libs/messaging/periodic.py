"""A background loop that stops between passes, never in the middle of one.

Cancelling a pass mid-query would leave its database connection half-used; a stop request
instead lets the current pass finish and ends the loop. A loop given a `Lease` runs its
pass only while this process holds the lease: once per cluster, however many replicas.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

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
                if self._lease is None or await self._lease.take():
                    await self._step()
            except Exception:
                log.exception("%s: pass failed", self._name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
