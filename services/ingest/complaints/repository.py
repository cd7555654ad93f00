"""The SQL of complaints; takes the caller's session and never commits."""

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Complaint, Mention


async def insert_complaint(session: AsyncSession, row: Complaint) -> bool:
    """Insert the complaint of a mention unless it has one already; say if it was inserted."""
    inserted = await session.exec(
        insert(Complaint)
        .values(**row.model_dump())
        .on_conflict_do_nothing(index_elements=["mention_id"])
        .returning(col(Complaint.id))
    )
    return inserted.first() is not None


async def complaint_with_mention(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    complaint_id: uuid.UUID | None = None,
    mention_id: uuid.UUID | None = None,
) -> tuple[Complaint, Mention] | None:
    """Return a complaint of this organization, by its id or its mention's, with the mention."""
    query = (
        select(Complaint, Mention)
        .join(Mention, col(Mention.id) == col(Complaint.mention_id))
        .where(col(Complaint.organization_id) == organization_id)
    )
    if complaint_id is not None:
        query = query.where(col(Complaint.id) == complaint_id)
    if mention_id is not None:
        query = query.where(col(Complaint.mention_id) == mention_id)
    row = (await session.exec(query)).first()
    if row is None:
        return None
    complaint, mention = row
    return complaint, mention
