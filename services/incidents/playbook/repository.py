"""SQL of playbooks: an organization's stored playbooks and the tasks an incident has."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Playbook as PlaybookRow
from libs.database.tables import ResponseTask
from libs.ids import new_id


async def stored_playbooks(
    session: AsyncSession, organization_id: uuid.UUID, tier: str, crisis_types: list[str]
) -> dict[str, PlaybookRow]:
    """Return the organization's playbooks for `tier` among `crisis_types`, by crisis type."""
    result = await session.exec(
        select(PlaybookRow).where(
            PlaybookRow.organization_id == organization_id,
            PlaybookRow.tier == tier,
            col(PlaybookRow.crisis_type).in_(crisis_types),
        )
    )
    return {row.crisis_type: row for row in result.all()}


async def task_positions(session: AsyncSession, incident_id: uuid.UUID) -> dict[str, int]:
    """Return the kinds of task the incident has, each with its (last) position."""
    result = await session.exec(
        select(ResponseTask.kind, func.max(ResponseTask.position))
        .where(ResponseTask.incident_id == incident_id)
        .group_by(ResponseTask.kind)
    )
    return {kind: position for kind, position in result.all()}


async def save_playbook(
    session: AsyncSession,
    organization_id: uuid.UUID,
    tier: str,
    crisis_type: str,
    team: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    now: datetime,
    *,
    legal_review: bool = False,
) -> uuid.UUID:
    """Insert or replace the organization's playbook for a tier and crisis type; return its id."""
    upsert = insert(PlaybookRow).values(
        id=new_id(),
        organization_id=organization_id,
        tier=tier,
        crisis_type=crisis_type,
        team=team,
        tasks=tasks,
        legal_review=legal_review,
        updated_at=now,
    )
    statement = upsert.on_conflict_do_update(
        index_elements=["organization_id", "tier", "crisis_type"],
        set_={"team": team, "tasks": tasks, "legal_review": legal_review, "updated_at": now},
    ).returning(col(PlaybookRow.id))
    row_id: uuid.UUID = (await session.exec(statement)).scalar_one()
    return row_id
