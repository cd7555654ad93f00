"""SQL of aftercare: affected users and their follow-up tasks."""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import AffectedUser, FollowUpTask


async def affected_users(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> list[AffectedUser]:
    """Return the incident's affected users, first registered first."""
    result = await session.exec(
        select(AffectedUser)
        .where(
            AffectedUser.organization_id == organization_id,
            AffectedUser.incident_id == incident_id,
        )
        .order_by(col(AffectedUser.created_at), col(AffectedUser.id))
    )
    return list(result.all())


async def follow_ups(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> list[FollowUpTask]:
    """Return the follow-up and compensation tasks of the incident, by kind."""
    result = await session.exec(
        select(FollowUpTask)
        .where(
            FollowUpTask.organization_id == organization_id,
            FollowUpTask.incident_id == incident_id,
        )
        .order_by(col(FollowUpTask.kind))
    )
    return list(result.all())
