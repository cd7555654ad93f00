"""The risk-check schedule as a sweep: once per cluster, each organization due in its own work.

Every pass the replica holding the `incidents:risk-check` lease looks at the clock; from the
configured hour of the local day on, each organization with no check for that day is due,
and is checked in its own unit of work (one organization's failure does not hold back the
others, and its event is published right after its own commit). A replica that was down at
the hour catches up on its first pass the same day; a day missed entirely is not checked
later, since a digest of the past is no check of the present.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.outcome import Outcome
from libs.messaging.sweep import SweepSpec
from services.incidents.risk_check import service
from services.incidents.risk_check.service import Schedule

LEASE = "incidents:risk-check"


def risk_check_sweep(schedule: Schedule) -> SweepSpec:
    """The sweep that checks every organization due under `schedule`."""

    async def due(session: AsyncSession, now: datetime) -> Sequence[uuid.UUID]:
        day = schedule.due_day(now)
        return [] if day is None else await service.unchecked(session, day)

    async def check(session: AsyncSession, organization_id: uuid.UUID, clock: Clock) -> Outcome:
        now = clock.now()
        day = schedule.due_day(now)
        if day is None:  # the hour passed into the next local day since the list was read
            return Outcome()
        return await service.run(
            session, organization_id, day=day, time_zone=schedule.zone.key, now=now
        )

    return SweepSpec(LEASE, due, check)
