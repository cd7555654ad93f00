"""The deadline watchdog: a background pass over passed deadlines in the incidents worker.

Each pass runs `deadlines.check` in its own unit of work: the `task.overdue` messages are
staged in the outbox of that transaction and published after commit. A crash between commit
and publish leaves the rows unpublished, and the incidents worker's outbox relay (same
producer name) sends them later; a crash before commit claims nothing, and the next pass
finds the same breaches again. Time comes from a `Clock`, so tests move it by hand.
"""

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import EventType
from libs.contracts.response import IntegrationEventEmitted
from libs.messaging.connection import ArqRedis
from libs.messaging.periodic import Periodic
from libs.messaging.unit_of_work import unit_of_work
from services.incidents.tasks import deadlines

log = logging.getLogger(__name__)

# The incidents worker's consumer name: its outbox relay re-publishes this producer's rows.
PRODUCER = "incidents"


class DeadlineWatchdog(Periodic):
    """Check deadlines every `interval` seconds; `start()`/`stop()` come from `Periodic`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: ArqRedis,
        clock: Clock,
        interval: float,
        *,
        producer: str = PRODUCER,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._clock = clock
        self._producer = producer
        super().__init__("deadline watchdog", self._pass, interval=interval)

    async def run_once(self) -> int:
        """Run one pass: claim passed deadlines, commit, publish; return the breaches found."""
        async with unit_of_work(self._sessions, self._redis, self._producer) as work:
            outcome = work.apply(await deadlines.check(work.session, self._clock.now()))
        # Pages go out beside the breaches; only the breaches are counted.
        return sum(
            isinstance(m, IntegrationEventEmitted) and m.type is EventType.TASK_OVERDUE
            for m in outcome.messages
        )

    async def _pass(self) -> None:
        count = await self.run_once()
        if count:
            log.info("deadline watchdog: %d task(s) overdue", count)
