"""Reading and setting one column of every organization, for the CLI's per-organization
settings (`retention`, `time-zone`): the organization table is the operator's to write."""

import asyncio
from typing import Any

import typer

from crisiswatch.runtime import resolved_urls
from libs.settings import get_settings


def set_column(org: str, column: str, value: Any) -> None:
    """Set `column` of the organization with slug `org`; a missing one is refused on --org."""
    from sqlmodel import select

    from libs.database.engine import create_engine, session_factory, transaction
    from libs.database.tables import Organization

    database_url, _ = resolved_urls(get_settings())

    async def write() -> bool:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with transaction(session_factory(engine)) as session:
                found = await session.exec(select(Organization).where(Organization.slug == org))
                row = found.one_or_none()
                if row is None:
                    return False
                setattr(row, column, value)
                return True
        finally:
            await engine.dispose()

    if not asyncio.run(write()):
        raise typer.BadParameter(f"no organization {org!r}", param_hint="--org")


def column_by_slug(column: str) -> list[tuple[str, Any]]:
    """Return (slug, value of `column`) for every organization, by slug."""
    from sqlmodel import col, select

    from libs.database.engine import create_engine, session_factory
    from libs.database.tables import Organization

    database_url, _ = resolved_urls(get_settings())

    async def read() -> list[tuple[str, Any]]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                query = select(Organization.slug, col(getattr(Organization, column)))
                rows = await session.exec(query.order_by(Organization.slug))
                return [(slug, value) for slug, value in rows.all()]
        finally:
            await engine.dispose()

    return asyncio.run(read())
