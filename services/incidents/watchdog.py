"""The deadline watchdog: a background pass over passed deadlines in the incidents worker.

Each pass runs `deadlines.check` in its own transaction and stages the `task.overdue`
messages in the outbox of that transaction, then publishes them after commit. A crash
between commit and publish leaves the rows unpublished, and the incidents worker's outbox
relay (same producer name) sends them later; a crash before commit claims nothing, and the
next pass finds the same breaches again. Time comes from a `Clock`, so tests move it by hand.
"""

import logging

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.messaging import live, outbox
from libs.messaging.periodic import Periodic
from services.incidents import deadlines
from services.incidents.clock import Clock

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
        async with transaction(self._sessions) as session:
            messages = await deadlines.check(session, self._clock.now())
            staged = [outbox.add(session, self._producer, message) for message in messages]
            notices = live.take_staged(session)
        await outbox.flush(self._sessions, self._redis, staged)
        await live.announce(self._redis, notices)
        return len(messages)

    async def _pass(self) -> None:
        count = await self.run_once()
        if count:
            log.info("deadline watchdog: %d task(s) overdue", count)
