"""The risk-check scheduler: a background pass in the incidents worker, once per cluster.

Every `interval` seconds the replica holding the `incidents:risk-check` lease looks at the
clock; from the configured hour of the local day on, it checks each organization with no
check for that day, each in its own unit of work (one organization's failure does not hold
back the others, and its event is published right after its own commit). A replica that was
down at the hour catches up on its first pass the same day; a day missed entirely is not
checked later, since a digest of the past is no check of the present.
"""

import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.messaging.connection import ArqRedis
from libs.messaging.lease import Lease
from libs.messaging.periodic import Periodic
from libs.messaging.unit_of_work import unit_of_work
from services.incidents.risk_check import service
from services.incidents.risk_check.service import Schedule

log = logging.getLogger(__name__)

LEASE = "incidents:risk-check"


class RiskCheckScheduler(Periodic):
    """Run the due checks every `interval` seconds while holding the lease."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: ArqRedis,
        clock: Clock,
        schedule: Schedule,
        interval: float,
        *,
        producer: str,
    ) -> None:
        self._sessions = sessions
        self._redis = redis
        self._clock = clock
        self._schedule = schedule
        self._producer = producer
        lease = Lease(redis, LEASE, ttl=max(3 * interval, 30.0))
        super().__init__("risk check", self._pass, interval=interval, lease=lease)

    async def run_once(self) -> int:
        """Check every organization due now; return how many checks were stored."""
        now = self._clock.now()
        day = self._schedule.due_day(now)
        if day is None:
            return 0
        async with self._sessions() as session:
            due = await service.unchecked(session, day)
        stored = 0
        for organization_id in due:
            try:
                async with unit_of_work(self._sessions, self._redis, self._producer) as work:
                    outcome = work.apply(
                        await service.run(
                            work.session,
                            organization_id,
                            day=day,
                            time_zone=self._schedule.zone.key,
                            now=now,
                        )
                    )
            except Exception:
                # Rolled back; the next pass tries this organization again.
                log.exception("risk check of organization %s failed", organization_id)
                continue
            stored += len(outcome.messages)
        return stored

    async def _pass(self) -> None:
        count = await self.run_once()
        if count:
            log.info("risk check: %d organization(s) checked", count)
