"""`crisiswatch time-zone`: the time zone an organization's on-call hand-offs happen in.

The zone is `organization.time_zone` (an IANA name, `Asia/Shanghai` by default); the
incidents service and the gateway read it when they work out who is on duty.
"""

import asyncio
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from crisiswatch.runtime import resolved_urls
from libs.settings import get_settings

time_zone_app = typer.Typer(
    help="Show and set the time zone of each organization's on-call hand-offs.",
    no_args_is_help=True,
)


@time_zone_app.command("set")
def set_zone(
    org: Annotated[str, typer.Option(help="Organization slug.")],
    zone: Annotated[str, typer.Option(help="IANA time zone, e.g. Asia/Shanghai.")],
) -> None:
    """Set the time zone an organization's rotas hand off in."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"unknown time zone {zone!r}", param_hint="--zone") from exc
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
                row.time_zone = zone
                return True
        finally:
            await engine.dispose()

    if not asyncio.run(write()):
        raise typer.BadParameter(f"no organization {org!r}", param_hint="--org")
    typer.echo(f"{org}: on-call hand-offs in {zone}")


@time_zone_app.command("show")
def show() -> None:
    """List each organization's time zone."""
    from sqlmodel import select

    from libs.database.engine import create_engine, session_factory
    from libs.database.tables import Organization

    database_url, _ = resolved_urls(get_settings())

    async def read() -> list[tuple[str, str]]:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                query = select(Organization.slug, Organization.time_zone)
                rows = await session.exec(query.order_by(Organization.slug))
                return [(slug, zone) for slug, zone in rows.all()]
        finally:
            await engine.dispose()

    for slug, zone in asyncio.run(read()):
        typer.echo(f"{slug:<32} {zone}")
