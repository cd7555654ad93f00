"""One harness for every queue consumer: parse, claim, handle, commit, then publish.

A service lists its routes (message type → handler); the harness gives each job a
transaction, a receipt that makes redelivery a no-op, an outbox for what the handler emits,
live notices for subscribers announced only after commit, and retries with backoff when
PostgreSQL or Redis blips, so a transient failure never drops an accepted message.
"""

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from arq import Retry
from arq.connections import ArqRedis
from arq.worker import Function, Worker, func
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import Command, CommandResult, Message
from libs.contracts.outcome import Outcome
from libs.database.engine import create_engine, session_factory
from libs.messaging import outbox, readiness, serialization
from libs.messaging.connection import redis_settings
from libs.messaging.receipts import AlreadyHandled, claim, store_result
from libs.messaging.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

__all__ = ["MAX_TRIES", "Outcome", "Route", "Runtime", "build_worker"]

M = TypeVar("M", bound=Message)

MAX_TRIES = 8


@dataclass
class Runtime:
    """Per-process resources, built once at worker start.

    A service that needs more (a data key, a loaded model, a background loop) subclasses it
    with typed fields and builds its own in `setup`.
    """

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis


R = TypeVar("R", bound=Runtime)

Handler = Callable[[R, AsyncSession, M], Awaitable[Outcome]]


@dataclass(frozen=True)
class Route(Generic[R, M]):
    """Which handler applies a message type."""

    message: type[M]
    handle: Handler[R, M]


def _job(consumer: str, route: Route[Any, Any]) -> Function:
    async def run(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any] | None:
        runtime: Runtime = ctx["runtime"]
        try:
            message = route.message.model_validate(payload)
        except ValidationError as exc:
            # A malformed message can never succeed; fail it loudly instead of retrying.
            log.error("%s: rejected malformed %s: %s", consumer, route.message.job_name(), exc)
            return CommandResult.failure("Invalid", str(exc)).model_dump(mode="json")
        try:
            async with unit_of_work(runtime.sessions, runtime.redis, consumer) as work:
                session = work.session
                await claim(session, consumer, message.message_id, message.job_name())
                outcome = work.apply(await route.handle(runtime, session, message))
                answer = outcome.result.model_dump(mode="json") if outcome.result else None
                if answer is not None:
                    await store_result(session, consumer, message.message_id, answer)
        except AlreadyHandled as replay:
            return replay.result
        except (OperationalError, DBAPIError, OSError, ConnectionError) as exc:
            if isinstance(exc, DBAPIError) and not _transient(exc):
                raise
            tries = int(ctx.get("job_try", 1))
            log.warning("%s: transient failure on try %d: %s", consumer, tries, exc)
            raise Retry(defer=min(2**tries, 60)) from exc
        except Exception:
            if not issubclass(route.message, Command):
                raise
            # The sender is waiting: answer with a failure it can show, not a stored
            # exception it cannot read. The transaction rolled back, so nothing changed.
            log.exception("%s: %s failed", consumer, route.message.job_name())
            return CommandResult.failure(
                "Internal", f"the {consumer} service failed to apply the command"
            ).model_dump(mode="json")
        return answer

    return func(run, name=route.message.job_name(), max_tries=MAX_TRIES)


# Deadlock and serialization failure: PostgreSQL rolled the transaction back and asks for
# the same work to be tried again; it will usually succeed on its own.
_RETRY_SQLSTATES = frozenset({"40P01", "40001"})


def _transient(exc: DBAPIError) -> bool:
    """Tell trouble worth a retry (connection, deadlock) from errors in the statement itself."""
    sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
        getattr(exc.orig, "__cause__", None), "sqlstate", None
    )
    return (
        bool(exc.connection_invalidated)
        or isinstance(exc, OperationalError)
        or sqlstate in _RETRY_SQLSTATES
    )


def build_worker(
    *,
    consumer: str,
    queue: str,
    routes: Sequence[Route[R, Any]],
    database_url: str,
    redis_url: str,
    setup: Callable[[Runtime], Awaitable[R]] | None = None,
    on_shutdown: Callable[[R], Awaitable[None]] | None = None,
    max_jobs: int = 4,
    poll_delay: float = 0.02,
    relay_interval: float = 5.0,
    handle_signals: bool = True,
    burst: bool = False,
) -> Worker:
    """Build an arq worker for `queue` that applies `routes` as `consumer`."""
    relays: list[outbox.Relay] = []

    async def startup(ctx: dict[str, Any]) -> None:
        engine = create_engine(database_url, pool_size=max_jobs + 1)
        base = Runtime(engine=engine, sessions=session_factory(engine), redis=ctx["redis"])
        runtime = await setup(base) if setup is not None else cast(R, base)
        ctx["runtime"] = runtime
        relay = outbox.Relay(runtime.sessions, runtime.redis, consumer, interval=relay_interval)
        relay.start()
        relays.append(relay)
        await readiness.mark_ready(runtime.redis, consumer)

    async def shutdown(ctx: dict[str, Any]) -> None:
        for relay in relays:
            await relay.stop()
        runtime: R | None = ctx.get("runtime")
        if runtime is None:
            return
        if on_shutdown is not None:
            await on_shutdown(runtime)
        await runtime.engine.dispose()

    return Worker(
        functions=[_job(consumer, route) for route in routes],
        queue_name=queue,
        redis_settings=redis_settings(redis_url),
        on_startup=startup,
        on_shutdown=shutdown,
        job_serializer=serialization.dumps,
        job_deserializer=serialization.loads,
        max_jobs=max_jobs,
        poll_delay=poll_delay,
        keep_result=3600,
        max_tries=MAX_TRIES,
        handle_signals=handle_signals,
        burst=burst,
    )
