"""A leased sweep: once per cluster, find what is due and handle each item in its own work.

Some state changes with time alone (a tier as its window quiets, a snooze as it ends), so a
service re-examines it on a schedule rather than on a message. A sweep is that schedule: a
periodic pass, run only by the replica holding its lease, that asks which items are due and
handles each in its own unit of work (commit, then publish what it emits), so one item's
lock is held only for its own decision and one failing item does not undo the others.
Handling must be idempotent: a lost lease can let a second runner repeat an item, and the
item's own row lock is what makes the repeat a no-op.
"""

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.outcome import Outcome
from libs.messaging.failures import is_transient
from libs.messaging.lease import Lease
from libs.messaging.periodic import Periodic
from libs.messaging.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

Due = Callable[[AsyncSession, datetime], Awaitable[Sequence[uuid.UUID]]]
"""Which items are due at a time (read without locks; the handler re-checks under its lock)."""

Handle = Callable[[AsyncSession, uuid.UUID, Clock], Awaitable[Outcome]]
"""Handle one item in the caller's session, reading the time from the clock once locked."""


@dataclass(frozen=True)
class SweepSpec:
    """What a sweep does: its name (also its lease's), which items are due, how one is handled."""

    name: str
    due: Due
    handle: Handle


class Sweep(Periodic):
    """Every `interval` seconds, on the lease holder only, handle each due item in its own work."""

    def __init__(
        self,
        spec: SweepSpec,
        sessions: async_sessionmaker[AsyncSession],
        redis: ArqRedis,
        clock: Clock,
        *,
        interval: float,
        producer: str,
    ) -> None:
        self._spec = spec
        self._sessions = sessions
        self._redis = redis
        self._clock = clock
        self._producer = producer
        lease = Lease(redis, spec.name)
        super().__init__(spec.name, self._pass, interval=interval, lease=lease)

    async def run_once(self) -> int:
        """Handle every item due now; return how many messages the pass emitted."""
        async with self._sessions() as session:
            items = await self._spec.due(session, self._clock.now())
        emitted = 0
        for item in items:
            try:
                async with unit_of_work(self._sessions, self._redis, self._producer) as work:
                    outcome = work.apply(await self._spec.handle(work.session, item, self._clock))
            except Exception as exc:
                # An outage ends the pass (the loop logs it once); anything else is this
                # item's own fault: rolled back, still due, tried again next pass.
                if is_transient(exc):
                    raise
                log.exception("%s: item %s failed", self._spec.name, item)
                continue
            emitted += len(outcome.messages)
        return emitted

    async def _pass(self) -> None:
        emitted = await self.run_once()
        if emitted:
            log.info("%s: %d message(s) emitted", self._spec.name, emitted)
