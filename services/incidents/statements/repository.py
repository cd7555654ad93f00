"""SQL of statements: a statement with its incident (locked), a channel's statements, facts."""

import uuid

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import KeyFact, Statement
from services.incidents.repository import fresh_locked, rows_of


async def incident_id_of(
    session: AsyncSession, organization_id: uuid.UUID, statement_id: uuid.UUID
) -> uuid.UUID | None:
    """Return the incident of the organization's statement; None for another's or none."""
    result = await session.exec(
        select(Statement.incident_id).where(
            Statement.id == statement_id, Statement.organization_id == organization_id
        )
    )
    return result.first()


async def statement_for_update(session: AsyncSession, statement_id: uuid.UUID) -> Statement:
    """Return the statement as stored now, locked for update."""
    result = await session.exec(fresh_locked(select(Statement).where(Statement.id == statement_id)))
    return result.one()


async def channel_statements(
    session: AsyncSession, incident_id: uuid.UUID, channel: str
) -> list[Statement]:
    """Return the incident's statements on `channel`."""
    result = await session.exec(
        select(Statement).where(Statement.incident_id == incident_id, Statement.channel == channel)
    )
    return list(result.all())


async def statements_of(session: AsyncSession, incident_id: uuid.UUID) -> list[Statement]:
    """Return the incident's statements, oldest first."""
    return await rows_of(session, Statement, incident_id, Statement.created_at, Statement.id)


async def key_facts(session: AsyncSession, incident_id: uuid.UUID) -> list[KeyFact]:
    """Return the incident's key facts in the order they were given."""
    return await rows_of(session, KeyFact, incident_id, KeyFact.created_at, KeyFact.label)


async def delete_key_facts(session: AsyncSession, incident_id: uuid.UUID) -> None:
    """Delete the incident's key facts."""
    await session.exec(delete(KeyFact).where(col(KeyFact.incident_id) == incident_id))
