"""Command-line entry points: `up`, `status`, `migrate`, `serve`, `worker`, `keys create`,
`keys rotate`, `jobs`, `retention`, `time-zone`, `rollups rebuild`, `demo`, `drill`, `backtest` and
`train-sentiment`."""

import asyncio
import importlib
import json
import os
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import typer

from crisiswatch.jobs import jobs_app
from crisiswatch.retention import retention_app
from crisiswatch.runtime import credentials_path, read_runtime, resolved_urls
from crisiswatch.time_zone import time_zone_app
from libs.contracts.enums import Role
from libs.logs import configure_logging, log_config
from libs.settings import get_settings

app = typer.Typer(
    help="crisiswatch: social-media crisis monitoring and response.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Manage API keys and rotate the data key.", no_args_is_help=True)
rollups_app = typer.Typer(
    help="Maintain the counts dashboards and author lists read.", no_args_is_help=True
)


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version

        typer.echo(f"crisiswatch {version('crisiswatch')}")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Print the version and exit.", callback=_print_version, is_eager=True
        ),
    ] = False,
) -> None:
    """crisiswatch: social-media crisis monitoring and response."""


app.add_typer(keys_app, name="keys")
app.add_typer(jobs_app, name="jobs")
app.add_typer(retention_app, name="retention")
app.add_typer(time_zone_app, name="time-zone")
app.add_typer(rollups_app, name="rollups")


class HttpService(StrEnum):
    """Services that answer HTTP."""

    INGEST = "ingest"
    GATEWAY = "gateway"


class WorkerService(StrEnum):
    """Services that consume a queue."""

    ANALYSIS = "analysis"
    INCIDENTS = "incidents"
    NOTIFY = "notify"


_APPS = {
    HttpService.INGEST: "services.ingest.app:create_app",
    HttpService.GATEWAY: "gateway.app:create_app",
}
_WORKERS = {
    WorkerService.ANALYSIS: "services.analysis.worker",
    WorkerService.INCIDENTS: "services.incidents.worker",
    WorkerService.NOTIFY: "services.notify.worker",
}


def _logging() -> None:
    """The services' one logging setup: JSON lines (console in development), masked."""
    configure_logging()


@app.command()
def up(
    show_keys: Annotated[
        bool, typer.Option("--show-keys", help="Also print the demo organization's keys.")
    ] = False,
) -> None:
    """Start the whole system: servers (embedded unless configured), migrations, five services."""
    from crisiswatch.launcher import Launcher

    # The launcher starts its services in development unless told otherwise; its own
    # lines (migrations, embedded servers) are written the same way as theirs.
    configure_logging(development=os.environ.get("CRISISWATCH_ENV", "development") == "development")
    raise typer.Exit(Launcher(get_settings(), show_keys=show_keys).run())


@app.command()
def status() -> None:
    """Print whether each process is live and ready, as its /livez and /readyz answer."""
    from crisiswatch.status import report

    if not report(get_settings(), typer.echo):
        raise typer.Exit(1)


@app.command()
def migrate() -> None:
    """Apply database migrations to DATABASE_URL (or the running system's database)."""
    from libs.database.migrate import upgrade

    database_url, _ = resolved_urls(get_settings())
    upgrade(database_url)
    typer.echo("database is at the latest migration")


@app.command()
def serve(service: HttpService) -> None:
    """Run one HTTP service in the foreground against DATABASE_URL and REDIS_URL."""
    import uvicorn
    from uvicorn.importer import import_from_string

    from libs.logs.http import with_request_context

    _logging()
    settings = get_settings()
    port = settings.ingest_port if service is HttpService.INGEST else settings.gateway_port
    # uvicorn applies the same logging setup instead of its own handlers and formats, and the
    # app answers inside a request context, so every line of a request carries its id.
    uvicorn.run(
        with_request_context(import_from_string(_APPS[service])),
        factory=True,
        host=settings.bind_host,
        port=port,
        log_level="info",
        log_config=log_config(settings.is_development),
    )


@app.command()
def worker(service: WorkerService) -> None:
    """Run one queue worker in the foreground against DATABASE_URL and REDIS_URL."""
    _logging()
    from libs.messaging.worker import run_forever

    module = importlib.import_module(_WORKERS[service])
    run_forever(module.create_worker(get_settings()))


@keys_app.command("create")
def keys_create(
    org: Annotated[str, typer.Option(help="Organization slug; created if it does not exist.")],
    role: Annotated[Role, typer.Option(help="What the key may do.")],
    name: Annotated[str | None, typer.Option(help="A label for the key.")] = None,
) -> None:
    """Create an API key and print it; it is shown only once."""
    from libs.auth.admin import create_key, ensure_organization
    from libs.database.engine import create_engine, session_factory, transaction

    database_url, _ = resolved_urls(get_settings())

    async def create() -> str:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with transaction(session_factory(engine)) as session:
                organization = await ensure_organization(session, org)
                return (await create_key(session, organization, role, name)).secret
        finally:
            await engine.dispose()

    typer.echo(asyncio.run(create()))


@keys_app.command("rotate")
def keys_rotate(
    batch_size: Annotated[
        int, typer.Option(min=1, help="Ciphertexts sealed again per transaction.")
    ] = 500,
) -> None:
    """Seal every stored ciphertext again under CRISISWATCH_DATA_KEY; safe to stop and rerun."""
    from crisiswatch.keys_rotate import run

    raise typer.Exit(run(get_settings(), batch_size=batch_size, say=typer.echo))


@app.command()
def demo(
    chatter_pause: Annotated[
        float, typer.Option(help="Seconds between chatter batches, to watch it arrive.")
    ] = 0.0,
) -> None:
    """Play a realistic stream, from chatter to a product-safety crisis, into the running system."""
    from crisiswatch.demo import DemoError, run_demo
    from crisiswatch.progress import Bars

    settings = get_settings()
    runtime = read_runtime(settings)
    try:
        credentials = json.loads(credentials_path(settings).read_text())
    except OSError as exc:
        typer.echo("no credentials.json: start the system with `crisiswatch up` first", err=True)
        raise typer.Exit(1) from exc
    ingest_url = runtime.ingest_url if runtime else f"http://127.0.0.1:{settings.ingest_port}"
    gateway_url = runtime.gateway_url if runtime else f"http://127.0.0.1:{settings.gateway_port}"
    try:
        with Bars() as bars:
            result = asyncio.run(
                run_demo(
                    ingest_url=ingest_url,
                    gateway_url=gateway_url,
                    ingest_key=credentials["ingest_key"],
                    admin_key=credentials["admin_key"],
                    chatter_pause=chatter_pause,
                    progress=bars,
                )
            )
    except DemoError as exc:
        typer.echo(f"demo failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    if result.incident is None:
        raise typer.Exit(1)


@app.command()
def drill(
    scenario: Annotated[
        str,
        typer.Argument(help="product_safety, data_leak or rumour; replay with --replay."),
    ] = "product_safety",
    speed: Annotated[
        float, typer.Option(help="Stream seconds per wall second (60: an hour a minute).")
    ] = 60.0,
    label: Annotated[
        bool,
        typer.Option("--label", help="Send the drill's webhooks and chat marked 【演练】."),
    ] = False,
    replay: Annotated[
        str | None, typer.Option(help="A past incident's global id: play its mentions again.")
    ] = None,
    respond: Annotated[
        float, typer.Option(help="Seconds to leave the team after the posts, before the card.")
    ] = 0.0,
) -> None:
    """Play a drill (定期模拟演练) through the running system and print its score card."""
    from crisiswatch.demo import DemoError
    from crisiswatch.drill import run_drill
    from libs.contracts.enums import DrillDelivery, DrillScenario

    try:
        chosen = None if replay else DrillScenario(scenario)
    except ValueError as exc:
        typer.echo(f"unknown scenario {scenario!r}", err=True)
        raise typer.Exit(2) from exc
    settings = get_settings()
    runtime = read_runtime(settings)
    try:
        credentials = json.loads(credentials_path(settings).read_text())
    except OSError as exc:
        typer.echo("no credentials.json: start the system with `crisiswatch up` first", err=True)
        raise typer.Exit(1) from exc
    try:
        asyncio.run(
            run_drill(
                ingest_url=runtime.ingest_url
                if runtime
                else f"http://127.0.0.1:{settings.ingest_port}",
                gateway_url=runtime.gateway_url
                if runtime
                else f"http://127.0.0.1:{settings.gateway_port}",
                ingest_key=credentials["ingest_key"],
                admin_key=credentials["admin_key"],
                scenario=chosen,
                speed=speed,
                delivery=DrillDelivery.LABEL if label else DrillDelivery.SUPPRESS,
                replay_incident_id=replay,
                respond_seconds=respond,
                out=typer.echo,
            )
        )
    except DemoError as exc:
        typer.echo(f"drill failed: {exc}", err=True)
        raise typer.Exit(1) from exc


# Loading the analysis model (segmentation dictionaries, sentiment weights) takes seconds.
LOAD_STAGE = "loading the analysis model"


def _moment(value: str, option: str) -> datetime:
    """Read an ISO 8601 time; one without an offset is UTC, as in the GraphQL API."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command()
def backtest(
    watchlist: Annotated[uuid.UUID, typer.Option(help="The watchlist's database id.")],
    since: Annotated[str, typer.Option(help="Start of the replay, ISO 8601 (UTC if no offset).")],
    until: Annotated[str, typer.Option(help="End of the replay, ISO 8601 (UTC if no offset).")],
    query: Annotated[
        str | None, typer.Option(help="Try this rule instead of the watchlist's own.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Replay stored mentions through the current rules; print the signals they would raise.

    Reads only (a READ ONLY transaction): live data is never touched.
    """
    from crisiswatch.backtest_report import print_report
    from crisiswatch.progress import Bars
    from libs.database.engine import create_engine
    from services.analysis.analyzer import Analyzer
    from services.analysis.backtest import BacktestError, BacktestResult, run_backtest

    database_url, _ = resolved_urls(get_settings())
    start, end = _moment(since, "--since"), _moment(until, "--until")

    async def replay(bars: Bars) -> BacktestResult:
        engine = create_engine(database_url, pool_size=1)
        analyzer = Analyzer()
        bars(LOAD_STAGE, 0, 1)
        await asyncio.to_thread(analyzer.load)
        bars(LOAD_STAGE, 1, 1)
        try:
            return await run_backtest(
                engine, analyzer, watchlist, start, end, query=query, progress=bars
            )
        finally:
            await engine.dispose()

    try:
        with Bars() as bars:
            result = asyncio.run(replay(bars))
        print_report(result, as_json=as_json)
    except BacktestError as exc:
        typer.echo(f"backtest: {exc}", err=True)
        raise typer.Exit(2) from exc


@rollups_app.command("rebuild")
def rollups_rebuild(
    org: Annotated[str, typer.Option(help="Organization slug or id.")],
    since: Annotated[str, typer.Option(help="Start, ISO 8601 (UTC if no offset).")],
    until: Annotated[str, typer.Option(help="End, ISO 8601 (UTC if no offset).")],
) -> None:
    """Recount an organization's rollups from the raw tables over the UTC days of a range.

    Run it after loading mentions and analyses in bulk. Safe while the system runs, and
    to rerun: each day is its own transaction.
    """
    from crisiswatch.rollups_rebuild import UnknownOrganizationError, run

    database_url, _ = resolved_urls(get_settings())
    start, end = _moment(since, "--since"), _moment(until, "--until")
    if start >= end:
        raise typer.BadParameter("must be after --since", param_hint="--until")
    try:
        summary = asyncio.run(run(database_url, org, start, end, typer.echo))
    except UnknownOrganizationError as exc:
        typer.echo(f"rollups rebuild: no organization {org!r}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"rebuilt {summary.start.date()} to {summary.end.date()} (exclusive): "
        f"{summary.bucket_rows} buckets, {summary.author_day_rows} author days, "
        f"{summary.author_rows} authors"
    )


@app.command("train-sentiment")
def train_sentiment(
    output: Annotated[
        str | None, typer.Option(help="Write the model here instead of the committed file.")
    ] = None,
) -> None:
    """Rebuild the sentiment model from its pinned inputs (deterministic)."""
    from crisiswatch.progress import Bars
    from services.analysis.sentiment.train import main as train

    with Bars() as bars:
        train(["--output", output] if output else [], progress=bars)


def main() -> None:
    """Run the CLI."""
    app()
