"""The `mention_failure` rows analysis writes: a mention that alone broke it, or one now done."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, exists
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import MentionAnalysis, MentionFailure
from libs.database.tables.ingest import REASON_LIMIT
from libs.database.upsert import incoming


async def record(
    session: AsyncSession,
    organization_id: uuid.UUID,
    reasons: Mapping[uuid.UUID, str],
    now: datetime,
) -> None:
    """Count one more failed try of each mention, keeping the latest error as its reason.

    Rows go in id order, so two deliveries that record the same mentions lock them in the
    same order. A row already given up stays given up: a late copy of an old announcement
    failing again changes only its count and reason.
    """
    if not reasons:
        return
    statement = insert(MentionFailure).values(
        [
            {
                "mention_id": mention_id,
                "organization_id": organization_id,
                "tries": 1,
                "reason": reasons[mention_id][:REASON_LIMIT],
                "first_failed_at": now,
                "last_failed_at": now,
            }
            for mention_id in sorted(reasons)
        ]
    )
    await session.exec(
        statement.on_conflict_do_update(
            index_elements=["mention_id"],
            set_={
                **incoming(statement, "reason", "last_failed_at"),
                "tries": col(MentionFailure.tries) + 1,
            },
        )
    )


async def clear_analysed(session: AsyncSession, mention_ids: Sequence[uuid.UUID]) -> None:
    """Delete the failure rows of those of `mention_ids` that are analysed now.

    Covers the mentions this delivery analysed and those an earlier one did after the
    reconciler, reading just before that commit, counted one more try for them.
    """
    await session.exec(
        delete(MentionFailure).where(
            col(MentionFailure.mention_id).in_(mention_ids),
            exists(
                select(MentionAnalysis.mention_id).where(
                    col(MentionAnalysis.mention_id) == col(MentionFailure.mention_id)
                )
            ),
        )
    )
