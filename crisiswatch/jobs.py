"""`crisiswatch jobs`: see what the workers could not do, and have it done again.

Two kinds: dead letters (a message a worker could not apply) and failed mentions (a
mention that broke analysis or was never analysed, `mention_failure`), retried or given up.
"""

import asyncio
import uuid
from typing import Annotated

import typer

from crisiswatch.runtime import resolved_urls
from libs.settings import get_settings

jobs_app = typer.Typer(
    help="See and re-drive dead letters and mentions analysis failed.", no_args_is_help=True
)


@jobs_app.command("list")
def list_dead_letters(
    consumer: Annotated[str | None, typer.Option(help="Only this service's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first.")] = 50,
) -> None:
    """List messages kept as dead letters and not re-driven since they last failed."""
    from libs.database.engine import create_engine, session_factory
    from libs.messaging import dead_letters

    database_url, _ = resolved_urls(get_settings())

    async def read() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                letters = await dead_letters.pending(session, consumer=consumer, limit=limit)
        finally:
            await engine.dispose()
        if not letters:
            typer.echo("no dead letters")
        for letter in letters:
            failed = letter.failed_at.isoformat(timespec="seconds")
            typer.echo(
                f"{letter.message_id}  {letter.consumer:<10} {letter.job_name:<28} "
                f"{failed}  tries={letter.tries}  {letter.error.splitlines()[0][:120]}"
            )

    asyncio.run(read())


@jobs_app.command("redrive")
def redrive(
    message_id: Annotated[uuid.UUID, typer.Argument(help="The dead letter's message id.")],
    consumer: Annotated[str | None, typer.Option(help="Only this service's copy.")] = None,
) -> None:
    """Queue a dead letter again under its own id, once its cause is fixed."""
    from libs.database.engine import create_engine, session_factory
    from libs.messaging import dead_letters
    from libs.messaging.connection import connect

    database_url, redis_url = resolved_urls(get_settings())

    async def send() -> int:
        engine = create_engine(database_url, pool_size=1)
        redis = await connect(redis_url)
        try:
            return await dead_letters.redrive(
                session_factory(engine), redis, message_id, consumer=consumer
            )
        finally:
            await redis.aclose()
            await engine.dispose()

    count = asyncio.run(send())
    if count == 0:
        typer.echo(f"no dead letter {message_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"re-queued {count} message(s) {message_id}")


@jobs_app.command("mentions")
def list_failed_mentions(
    given_up: Annotated[bool, typer.Option(help="Only those given up.")] = False,
    organization: Annotated[uuid.UUID | None, typer.Option(help="Only this one's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, latest failure first.")] = 50,
) -> None:
    """List mentions not analysed yet that failed: still retried, or given up, and why."""
    from libs.database.engine import create_engine, session_factory
    from services.ingest import repository

    database_url, _ = resolved_urls(get_settings())

    async def read() -> None:
        engine = create_engine(database_url, pool_size=1)
        try:
            async with session_factory(engine)() as session:
                rows = await repository.failures(
                    session, given_up_only=given_up, organization_id=organization, limit=limit
                )
        finally:
            await engine.dispose()
        if not rows:
            typer.echo("no failed mentions")
        for row in rows:
            state = (
                f"given up {row.given_up_at.isoformat(timespec='seconds')}"
                if row.given_up_at
                else f"retried, last {row.last_failed_at.isoformat(timespec='seconds')}"
            )
            reason = (row.reason.splitlines() or [""])[0][:120]
            typer.echo(
                f"{row.mention_id}  org {row.organization_id}  tries={row.tries}  {state}  {reason}"
            )

    asyncio.run(read())


@jobs_app.command("redrive-mentions")
def redrive_mentions(
    mention_ids: Annotated[
        list[uuid.UUID] | None, typer.Argument(help="The failed mentions' ids.", show_default=False)
    ] = None,
    given_up: Annotated[bool, typer.Option(help="Every given-up mention.")] = False,
) -> None:
    """Announce failed mentions again with their tries restarted, once the cause is fixed."""
    from libs.contracts.messages import MentionIngested
    from libs.database.engine import create_engine, session_factory
    from libs.database.tables._types import utcnow
    from libs.messaging.connection import connect
    from libs.messaging.unit_of_work import unit_of_work
    from services.ingest import service
    from services.ingest.dependencies import PRODUCER

    if not mention_ids and not given_up:
        typer.echo("name the mentions to re-drive, or pass --given-up", err=True)
        raise typer.Exit(2)
    database_url, redis_url = resolved_urls(get_settings())

    async def send() -> int:
        engine = create_engine(database_url, pool_size=1)
        redis = await connect(redis_url)
        try:
            # As ingest announces: through its outbox, so a Redis outage delays, not loses.
            async with unit_of_work(session_factory(engine), redis, PRODUCER) as work:
                outcome = work.apply(
                    await service.redrive_failed(work.session, mention_ids or None, utcnow())
                )
        finally:
            await redis.aclose()
            await engine.dispose()
        return sum(
            len(message.mention_ids)
            for message in outcome.messages
            if isinstance(message, MentionIngested)
        )

    count = asyncio.run(send())
    if count == 0:
        typer.echo("no failed mention to re-drive", err=True)
        raise typer.Exit(1)
    typer.echo(f"re-announced {count} mention(s)")
