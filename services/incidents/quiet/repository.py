"""The rows of own accounts and quiet periods, and which incidents a quiet-period pass acts on."""

import uuid
from collections.abc import Sequence

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, Tier
from libs.database.tables import Incident, OwnAccount, QuietPeriod, ResponseTask

# Statuses in which the crisis is still being fought: the accounts stay quiet.
FIGHTING = (
    IncidentStatus.DETECTED,
    IncidentStatus.ACKNOWLEDGED,
    IncidentStatus.ASSESSING,
    IncidentStatus.RESPONDING,
)
# Tiers that start a quiet period.
LOUD = (Tier.ORANGE, Tier.RED)


async def incidents_to_settle(session: AsyncSession) -> list[uuid.UUID]:
    """Incidents fighting at orange or above with no quiet period running, of organizations
    with an account to pause, and incidents no longer fighting whose quiet period still
    runs; each is settled in its own transaction."""
    running = select(QuietPeriod.id).where(
        col(QuietPeriod.incident_id) == col(Incident.id), col(QuietPeriod.ended_at).is_(None)
    )
    accounts = select(OwnAccount.id).where(
        col(OwnAccount.organization_id) == col(Incident.organization_id), col(OwnAccount.active)
    )
    fighting = col(Incident.status).in_([s.value for s in FIGHTING])
    loud = col(Incident.tier).in_([t.value for t in LOUD])
    starting = select(Incident.id).where(fighting, loud, ~running.exists(), accounts.exists())
    ending = (
        select(QuietPeriod.incident_id)
        .join(Incident, col(Incident.id) == col(QuietPeriod.incident_id))
        .where(col(QuietPeriod.ended_at).is_(None), ~fighting)
    )
    found = await session.exec(starting.union(ending))  # type: ignore[call-overload]
    return sorted({row[0] for row in found.all()})


async def running_period(session: AsyncSession, incident_id: uuid.UUID) -> QuietPeriod | None:
    """The incident's quiet period that has not ended, locked."""
    found = await session.exec(
        select(QuietPeriod)
        .where(QuietPeriod.incident_id == incident_id, col(QuietPeriod.ended_at).is_(None))
        .with_for_update()
    )
    return found.first()


async def periods_before(session: AsyncSession, incident_id: uuid.UUID) -> int:
    """How many quiet periods the incident has had (a reopened crisis starts another)."""
    found = await session.exec(select(QuietPeriod.id).where(QuietPeriod.incident_id == incident_id))
    return len(found.all())


async def active_accounts(
    session: AsyncSession, organization_id: uuid.UUID
) -> Sequence[OwnAccount]:
    """The organization's accounts quiet periods pause, in a stable order."""
    found = await session.exec(
        select(OwnAccount)
        .where(OwnAccount.organization_id == organization_id, col(OwnAccount.active))
        .order_by(col(OwnAccount.platform), col(OwnAccount.handle))
    )
    return found.all()


async def handle_taken(
    session: AsyncSession, organization_id: uuid.UUID, platform: str, handle: str
) -> bool:
    """Whether the organization already registered this account."""
    found = await session.exec(
        select(OwnAccount.id).where(
            OwnAccount.organization_id == organization_id,
            OwnAccount.platform == platform,
            OwnAccount.handle == handle,
        )
    )
    return found.first() is not None


async def incident_for_update(session: AsyncSession, incident_id: uuid.UUID) -> Incident | None:
    """The incident, locked: its status and tier hold still while its period is settled."""
    found = await session.exec(select(Incident).where(Incident.id == incident_id).with_for_update())
    return found.first()


async def next_task_position(session: AsyncSession, incident_id: uuid.UUID) -> int:
    """The position after the incident's last task: pause tasks go after the playbook's."""
    found = await session.exec(
        select(func.max(ResponseTask.position)).where(ResponseTask.incident_id == incident_id)
    )
    last = found.one()
    return 0 if last is None else last + 1
