"""The mentions an evidence bundle copies, and what a bundle already holds."""

import uuid
from collections.abc import Sequence

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Author, EvidenceItem, Mention


async def mentions_with_authors(
    session: AsyncSession, organization_id: uuid.UUID, mention_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[Mention, str | None]]:
    """The organization's mentions among `mention_ids`, each with its author's handle."""
    found = await session.exec(
        select(Mention, Author.handle)
        .join(Author, col(Author.id) == col(Mention.author_id), isouter=True)
        .where(col(Mention.organization_id) == organization_id, col(Mention.id).in_(mention_ids))
    )
    return {mention.id: (mention, handle) for mention, handle in found.all()}


async def held(session: AsyncSession, bundle_id: uuid.UUID) -> tuple[set[uuid.UUID], int]:
    """The mentions the bundle already holds, and the position after its last item."""
    found = await session.exec(
        select(EvidenceItem.mention_id).where(EvidenceItem.bundle_id == bundle_id)
    )
    last = await session.exec(
        select(func.max(EvidenceItem.position)).where(EvidenceItem.bundle_id == bundle_id)
    )
    highest = last.one()
    return set(found.all()), 0 if highest is None else highest + 1
