"""`crisiswatch jobs`: see the messages a worker could not apply, and send them again."""

import asyncio
import uuid
from typing import Annotated

import typer

from crisiswatch.runtime import resolved_urls
from libs.settings import get_settings

jobs_app = typer.Typer(help="See and re-drive dead letters.", no_args_is_help=True)


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
