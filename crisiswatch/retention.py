"""`crisiswatch retention`: how long an organization's raw mentions are kept.

The window is `organization.mention_retention_days`; an organization without one follows
`RETENTION_MENTIONS_DAYS`. The workers' retention loop applies it (`libs.mention_retention`).
"""

from typing import Annotated

import typer

from crisiswatch.organization_columns import column_by_slug, set_column
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
    set_column(org, "mention_retention_days", days)
    typer.echo(f"{org}: mentions kept {f'{days} days' if days else 'as RETENTION_MENTIONS_DAYS'}")


@retention_app.command("show")
def show() -> None:
    """List each organization's mention window (blank: the default)."""
    default = get_settings().retention_mentions_days or "kept"
    for slug, days in column_by_slug("mention_retention_days"):
        typer.echo(f"{slug:<32} {days if days is not None else f'default ({default})'}")
