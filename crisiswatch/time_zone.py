"""`crisiswatch time-zone`: the time zone an organization's on-call hand-offs happen in.

The zone is `organization.time_zone` (an IANA name, `Asia/Shanghai` by default); the
incidents service and the gateway read it when they work out who is on duty.
"""

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from crisiswatch.organization_columns import column_by_slug, set_column

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
    set_column(org, "time_zone", zone)
    typer.echo(f"{org}: on-call hand-offs in {zone}")


@time_zone_app.command("show")
def show() -> None:
    """List each organization's time zone."""
    for slug, zone in column_by_slug("time_zone"):
        typer.echo(f"{slug:<32} {zone}")
