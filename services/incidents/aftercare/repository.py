"""SQL of aftercare: affected users and their follow-up tasks."""

import uuid

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import AffectedUser, FollowUpTask
from services.incidents.repository import rows_of


async def affected_users(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> list[AffectedUser]:
    """Return the incident's affected users, first registered first."""
    return await rows_of(
        session,
        AffectedUser,
        incident_id,
        AffectedUser.created_at,
        AffectedUser.id,
        organization_id=organization_id,
    )


async def follow_ups(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> list[FollowUpTask]:
    """Return the follow-up and compensation tasks of the incident, by kind."""
    return await rows_of(
        session, FollowUpTask, incident_id, FollowUpTask.kind, organization_id=organization_id
    )
