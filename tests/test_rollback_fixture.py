"""The rolled-back fixtures leave nothing behind, even when the code under test commits."""

import uuid

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from libs.database.engine import session_factory, transaction
from libs.database.tables import Organization
from tests.fixtures.servers import rolled_back_factory


async def test_a_commit_is_seen_inside_and_gone_after(engine: AsyncEngine) -> None:
    name = f"rollback-probe-{uuid.uuid4()}"
    async with rolled_back_factory(engine) as rolled_back:
        async with transaction(rolled_back) as session:
            session.add(Organization(slug=name, name=name))
        async with rolled_back() as session:
            inside = await session.exec(select(Organization).where(Organization.name == name))
            assert len(inside.all()) == 1
    async with session_factory(engine)() as session:
        after = (await session.exec(select(Organization).where(Organization.name == name))).all()
    assert after == []
