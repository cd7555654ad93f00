"""SQL of the reply library: the mention a case is filed from."""

import uuid

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Mention


async def mention_of(
    session: AsyncSession, organization_id: uuid.UUID, mention_id: uuid.UUID
) -> Mention | None:
    """Return the organization's mention; another's is None."""
    result = await session.exec(
        select(Mention).where(Mention.id == mention_id, Mention.organization_id == organization_id)
    )
    return result.first()
