"""`crisiswatch retention`: how long an organization's raw mentions are kept.

The window is `organization.mention_retention_days`; an organization without one follows
`RETENTION_MENTIONS_DAYS`. The workers' retention loop applies it (`libs.mention_retention`).
"""

import asyncio
from typing import Annotated

import typer

from crisiswatch.runtime import resolved_urls
from libs.settings import get_settings

retention_app = typer.Typer(
    help="Show and set how long each organization's mentions are kept.", no_args_is_help=True
)


@retention_app.command("set")
def set_window(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    days: Annotated[
        int | None,
        typer.Option(min=1, help="Days a mention is kept after it was posted."),
    ] = None,
    default: Annotated[
        bool, typer.Option("--default", help="Follow RETENTION_MENTIONS_DAYS again.")
    ] = False,
) -> None:
    """Set an organization's mention window (`--days N`) or return it to the default."""
    if (days is None) == (not default):
        raise typer.BadParameter("give either --days or --default", param_hint="--days")
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
                row.mention_retention_days = days
                return True
        finally:
            await engine.dispose()

    if not asyncio.run(write()):
        raise typer.BadParameter(f"no organization {org!r}", param_hint="--org")
    typer.echo(f"{org}: mentions kept {f'{days} days' if days else 'as RETENTION_MENTIONS_DAYS'}")


@retention_app.command("show")
def show() -> None:
    """List each organization's mention window (blank: the default)."""
    from sqlmodel import select

    from libs.database.engine import create_engine, session_factory
    from libs.database.tables import Organization

    settings = get_settings()
    database_url, _ = resolved_urls(settings)
    default = settings.retention_mentions_days or "kept"

    async def read() -> list[tuple[str, int | None]]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                query = select(Organization.slug, Organization.mention_retention_days)
                rows = await session.exec(query.order_by(Organization.slug))
                return [(slug, days) for slug, days in rows.all()]
        finally:
            await engine.dispose()

    for slug, days in asyncio.run(read()):
        typer.echo(f"{slug:<32} {days if days is not None else f'default ({default})'}")
