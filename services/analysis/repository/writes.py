"""What a batch stores: one statement for its analyses, one for its watchlist hits, and the
rollups that count them (`libs.database.rollups`)."""

import uuid
from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database import rollups
from services.analysis.repository.rows import AnalysisRow, HitRow, insert_rows


async def insert_analyses(session: AsyncSession, rows: Sequence[AnalysisRow]) -> set[uuid.UUID]:
    """Insert analyses in one statement; return the mention ids this call actually stored."""
    if not rows:
        return set()
    result = await insert_rows(
        session, rows, "ON CONFLICT (mention_id) DO NOTHING RETURNING mention_id"
    )
    return {row[0] for row in result}


async def insert_hits(session: AsyncSession, rows: Sequence[HitRow]) -> None:
    """Record which watchlists matched which mentions, with what the risk model reads."""
    if rows:
        await insert_rows(session, rows, "ON CONFLICT DO NOTHING")


async def count_in_rollups(session: AsyncSession, mention_ids: Sequence[uuid.UUID]) -> None:
    """Add the analyses this transaction stored to the dashboard and author rollups."""
    await rollups.count_analysed(session, list(mention_ids))
