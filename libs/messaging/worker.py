"""One harness for every queue consumer: parse, claim, handle, commit, then publish.

A service lists its routes (message type → handler); the harness opens a message's sealed
fields (`libs.messaging.sealing`) and gives each job a transaction, a receipt that makes
redelivery a no-op, an outbox for what the handler emits, live notices for subscribers
announced only after commit, and retries with capped, jittered backoff for as long as
PostgreSQL or Redis is out, so an outage never drops an accepted message, and the process
itself waits for Redis to come back instead of exiting. A handler that fails for any other
reason leaves its message as a dead letter (`libs.messaging.dead_letters`) for a person to
see and re-drive: never silently gone. A command's session is marked with its sender
(`libs.acting`), and a configuration command's change is appended to the audit log in the
same transaction (`Route.audit`, `libs.audit`). A command's answer stays in Redis only
while its sender waits, an event's not at all.

Every try is counted and timed (`crisiswatch_jobs_total`, `crisiswatch_job_seconds`), and
every command by the answer it got; on `METRICS_PORT` the worker serves its metrics and
probes, and samples the cluster's gauges (`libs.metrics`). A stop signal drains the jobs in
flight for up to `DRAIN_SECONDS` (`libs.messaging.reconnecting`).
"""

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from datetime import datetime
from functools import partial
from typing import Any, Generic, Protocol, TypedDict, TypeVar, Unpack, cast

from arq import Retry
from arq.connections import ArqRedis
from arq.worker import Function, Worker, func
from pydantic import Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs import mention_retention, pending_lists
from libs.acting import Acting, act_for
from libs.audit import Audited
from libs.clock import Clock, SystemClock
from libs.contracts.messages import Command, CommandResult, Message
from libs.contracts.outcome import Outcome
from libs.database.engine import create_engine, session_factory
from libs.logs import configure_logging
from libs.messaging import dead_letters, outbox, readiness, retention, serialization
from libs.messaging.connection import redis_settings
from libs.messaging.failures import backoff, is_transient
from libs.messaging.periodic import Periodic
from libs.messaging.receipts import AlreadyHandled, claim, store_result
from libs.messaging.reconnecting import ReconnectingWorker
from libs.messaging.sealing import SealingError, key_from, open_payload, seal_answer
from libs.messaging.sweep import Sweep, SweepSpec
from libs.messaging.unit_of_work import unit_of_work
from libs.metrics.cluster import ClusterGauges
from libs.metrics.config import MetricsSettings
from libs.metrics.definitions import COMMANDS, JOB_SECONDS, JOBS
from libs.metrics.exposition import MULTIPROC_DIR
from libs.metrics.probes import check_postgres, check_redis
from libs.metrics.server import ProbeServer
from libs.privacy import DataKey
from libs.settings import Settings
from libs.tracing import configure_tracing
from libs.tracing.propagation import consuming, record_outcome

log = logging.getLogger(__name__)

__all__ = [
    "MAX_TRIES",
    "HowToRun",
    "Outcome",
    "Route",
    "Runtime",
    "Worker",
    "WorkerSettings",
    "WorkerSpec",
    "run_forever",
    "with_now",
]

M = TypeVar("M", bound=Message)
M_contra = TypeVar("M_contra", bound=Message, contravariant=True)
T = TypeVar("T")

# Tries are spent only by outages (everything else is answered or kept as a dead letter),
# so this is not a budget but a backstop: with the 30 s backoff cap, about three days,
# inside the week a queued job is kept (`libs.messaging.publisher.EVENT_EXPIRY`). At the
# last try the message is kept as a dead letter, never dropped.
MAX_TRIES = 10_000
DEFAULT_TIMEOUT_SECONDS = 60.0
# A handler that keeps running out of time is more likely stuck on its input than on an
# outage: after this many tries it is kept as a dead letter.
MAX_TIMEOUTS = 3
# Time-outs are counted per message in Redis for this long: past a day a message that timed
# out is rare enough to be judged afresh.
TIMEOUT_COUNT_TTL_SECONDS = 86_400
# arq's own timeout is a backstop behind the harness's, which retries or keeps the message.
ARQ_TIMEOUT_MARGIN = 10.0
# A command's answer waits in Redis as long as its sender does (COMMAND_TIMEOUT_SECONDS),
# plus this margin for a sender that began waiting just before the answer was written; an
# event's is not kept at all. Redis holds a job's arguments in its result and writes both to
# its append-only file, so nothing stays longer than someone reads it. The receipt, not the
# result, is what makes a late copy a no-op.
RESULT_MARGIN_SECONDS = 5.0


class WorkerSettings(MetricsSettings):
    """The shared settings, and how a worker process stops."""

    drain_seconds: int = Field(
        default=30,
        ge=0,
        description=(
            "On SIGTERM, how long a worker lets its jobs in flight finish before it cancels "
            "them (they run again elsewhere); 0 cancels at once."
        ),
    )


Extended = TypeVar("Extended", bound="Runtime")


@dataclass
class Runtime:
    """Per-process resources, built once at worker start.

    A service that needs more (a data key, a loaded model) subclasses it with typed fields
    and builds its own in `setup` with `extend`; a background loop it adds to `loops` is
    started after `setup` and stopped, after the harness's own loops, before the engine
    closes. Every handler and loop reads the time from `clock`, so a test or a replay can
    run the real worker at the time of its stream instead of the wall clock's.
    """

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: ArqRedis
    loops: list[Periodic] = field(default_factory=list, kw_only=True)
    clock: Clock = field(default_factory=SystemClock, kw_only=True)

    def sweep(self, spec: SweepSpec, *, every: float, producer: str) -> None:
        """Run the sweep `spec` beside the routes every `every` seconds, once per cluster."""
        self.loops.append(
            Sweep(spec, self.sessions, self.redis, self.clock, interval=every, producer=producer)
        )

    def extend(self, kind: type[Extended], **fields: Any) -> Extended:
        """Return a `kind` runtime holding these shared resources and the service's `fields`."""
        shared = {f.name: getattr(self, f.name) for f in dataclass_fields(Runtime)}
        return kind(**shared, **fields)


R = TypeVar("R", bound=Runtime)

Handler = Callable[[R, AsyncSession, M], Awaitable[Outcome]]


@dataclass(frozen=True)
class Route(Generic[R, M]):
    """Which handler applies a message type, and how long one try of it may take.

    The timeout also bounds how long a job held by a killed worker waits before another
    worker takes it over (arq's in-progress lease is the longest timeout plus 10 s).
    """

    message: type[M]
    handle: Handler[R, M]
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    audit: Audited | None = None
    """Set on a configuration command: the harness appends its change to the audit log."""


class TimedHandler(Protocol[M_contra]):
    """A service function that applies a message at a given time and needs nothing else."""

    def __call__(
        self, session: AsyncSession, message: M_contra, /, *, now: datetime
    ) -> Awaitable[Outcome]: ...


def with_now(handler: TimedHandler[M]) -> Handler[Runtime, M]:
    """Route `handler`, giving it the runtime's clock read once per message as `now`."""

    async def handle(runtime: Runtime, session: AsyncSession, message: M) -> Outcome:
        return await handler(session, message, now=runtime.clock.now())

    return handle


def _job(
    consumer: str,
    queue: str,
    route: Route[Any, Any],
    *,
    key: DataKey | None,
    command_result_seconds: float,
) -> Function:
    name = route.message.job_name()
    is_command = issubclass(route.message, Command)

    async def dead(runtime: Runtime, payload: dict[str, Any], error: str) -> None:
        await dead_letters.record(
            runtime.sessions,
            consumer=consumer,
            queue=queue,
            job_name=name,
            payload=payload,
            error=error,
        )

    async def attempt(ctx: dict[str, Any], payload: dict[str, Any]) -> tuple[str, Any]:
        """Try the job once; return its outcome for the metrics and its result for arq."""
        runtime: Runtime = ctx["runtime"]
        tries = int(ctx.get("job_try", 1))
        try:
            # Sealed fields are opened here, never earlier: the dead letter keeps `payload`.
            message = route.message.model_validate(open_payload(route.message, payload, key))
        except (ValidationError, SealingError) as exc:
            # A malformed message can never succeed: keep it for a person, never retry.
            why = _why_malformed(exc)
            log.warning("%s: rejected malformed %s: %s", consumer, name, why)
            await _or_retry(dead(runtime, payload, f"malformed: {why}"), consumer, tries)
            return "dead_letter", CommandResult.failure("Invalid", why).model_dump(mode="json")
        try:
            # The timeout is kept here, not by arq: arq would fail a timed-out job outright,
            # with neither a retry nor a dead letter.
            # It bounds the handler's work, not the commit and publish after it: a slow
            # publish after a commit must not count as the handler timing out.
            async with unit_of_work(runtime.sessions, runtime.redis, consumer) as work:
                async with asyncio.timeout(route.timeout):
                    session = work.session
                    await claim(session, consumer, message.message_id, name)
                    if isinstance(message, Command):
                        act_for(session, Acting.of(message))
                    outcome = work.apply(await _handle(route, runtime, session, message))
                    answer = outcome.result.model_dump(mode="json") if outcome.result else None
                    if answer is not None:
                        await store_result(session, consumer, message.message_id, answer)
        except AlreadyHandled as replay:
            # The kept answer: whatever it showed once is withheld now, never issued again.
            return "duplicate", replay.result
        except Exception as exc:
            timed_out = isinstance(exc, TimeoutError)
            if timed_out:
                # Its own count: tries are also spent by outages and by workers killed
                # under the job, and neither says the job is stuck on its input.
                tries = await _or_retry(
                    _count_timeout(runtime.redis, consumer, payload), consumer, tries
                )
            gave_up = tries >= (MAX_TIMEOUTS if timed_out else MAX_TRIES - 1)
            if is_transient(exc) and not gave_up:
                # An outage ends; wait and try again for as long as it takes.
                log.warning("%s: %s: transient failure on try %d: %s", consumer, name, tries, exc)
                raise Retry(defer=backoff(tries)) from exc
            log.exception("%s: %s failed; kept as a dead letter", consumer, name)
            reason = f"{type(exc).__name__}: {exc}"
            if gave_up:
                reason = f"gave up after {tries} tries: {reason}"
            await _or_retry(dead(runtime, payload, reason), consumer, tries)
            if not is_command:
                return "dead_letter", None
            # The sender is waiting: answer with a failure it can show, not a stored
            # exception it cannot read. The transaction rolled back, so nothing changed.
            return "dead_letter", CommandResult.failure(
                "Internal", f"the {consumer} service failed to apply the command"
            ).model_dump(mode="json")
        return "done", (seal_answer(answer, message, key) if answer is not None else None)

    async def run(ctx: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any] | None:
        started = time.perf_counter()
        outcome = "retried"  # what a `Retry` (an outage, a timeout) leaves it as
        # A span continuing the trace the message was staged in (`libs.tracing`).
        with consuming(queue, name, payload) as span:
            try:
                outcome, result = await attempt(ctx, payload)
            finally:
                JOB_SECONDS.labels(queue=queue, message=name).observe(time.perf_counter() - started)
                JOBS.labels(queue=queue, message=name, outcome=outcome).inc()
                record_outcome(span, outcome)
        if is_command and outcome != "duplicate":
            COMMANDS.labels(command=name, outcome=_answered(result)).inc()
        return cast(dict[str, Any] | None, result)

    return func(
        run,
        name=name,
        max_tries=MAX_TRIES,
        timeout=route.timeout + ARQ_TIMEOUT_MARGIN,
        keep_result=command_result_seconds if is_command else 0,
    )


async def _handle(
    route: Route[Any, Any], runtime: Runtime, session: AsyncSession, message: Message
) -> Outcome:
    """Run the route's handler; for a configuration command, audit the change it made."""
    if route.audit is None or not isinstance(message, Command):
        return await route.handle(runtime, session, message)
    before = await route.audit.before(session, message)
    outcome = await route.handle(runtime, session, message)
    if outcome.result is not None:
        await route.audit.record(session, message, outcome.result, before, at=runtime.clock.now())
    return outcome


def _why_malformed(exc: ValidationError | SealingError) -> str:
    """Say what is wrong with a message without repeating its values, which may be personal."""
    if isinstance(exc, SealingError):
        return str(exc)
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or 'message'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)
    )


async def _count_timeout(redis: ArqRedis, consumer: str, payload: dict[str, Any]) -> int:
    """Count one more time-out of this message for `consumer`; return how many so far."""
    key = f"crisiswatch:timeouts:{consumer}:{payload.get('message_id')}"
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(key)
        pipe.expire(key, TIMEOUT_COUNT_TTL_SECONDS)
        count, _ = await pipe.execute()
    return int(count)


def _answered(result: Any) -> str:
    """Return how a command's answer went: `ok`, or its error code."""
    error = result.get("error") if isinstance(result, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or "error")
    return "ok"


async def _or_retry(step: Awaitable[T], consumer: str, tries: int) -> T:
    """Run `step`; if the database is out, retry the whole job later instead of losing it."""
    try:
        return await step
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("%s: could not keep a dead letter on try %d: %s", consumer, tries, exc)
        raise Retry(defer=backoff(tries)) from exc


class HowToRun(TypedDict, total=False):
    """How a worker process runs, the same for every service.

    `burst` drains the queue once and stops (tests, one-off drains); `handle_signals` lets
    arq stop it on SIGINT/SIGTERM; `clock` replaces the wall clock (replays and tests).
    """

    burst: bool
    handle_signals: bool
    clock: Clock | None


@dataclass(frozen=True)
class WorkerSpec(Generic[R]):
    """What makes a service's worker: the consumer it records receipts as, its queue, routes."""

    consumer: str
    queue: str
    routes: Sequence[Route[R, Any]]
    poll_delay: float = 0.02
    relay_interval: float = 5.0

    def build(
        self,
        settings: Settings,
        setup: Callable[[Runtime], Awaitable[R]] | None = None,
        max_jobs: int = 4,
        **how: Unpack[HowToRun],
    ) -> Worker:
        """Build an arq worker for the queue from service `settings`, its runtime made by `setup`.

        `how["clock"]` (the wall clock unless given) is what every handler and loop reads as
        now. The worker waits out a Redis outage instead of exiting
        (`libs.messaging.reconnecting`). A burst worker drains the queue once and stops; it
        runs neither the retention pruner nor the service's own loops, so a test or a
        one-off drain does only what it queued.
        """
        consumer, routes = self.consumer, self.routes
        process = WorkerSettings.extending(settings)
        burst = how.get("burst", False)
        key = key_from(settings)
        command_result_seconds = settings.command_timeout_seconds + RESULT_MARGIN_SECONDS
        loops: list[Periodic] = []
        held: dict[str, R] = {}

        async def build_runtime(redis: ArqRedis) -> R:
            engine = create_engine(
                settings.database_url,
                pool_size=max_jobs + 1,
                statement_timeout_seconds=settings.statement_timeout_worker_seconds,
            )
            base = Runtime(
                engine=engine,
                sessions=session_factory(engine),
                redis=redis,
                clock=how.get("clock") or SystemClock(),
            )
            runtime = await setup(base) if setup is not None else cast(R, base)
            loops.append(
                outbox.Relay(
                    runtime.sessions, runtime.redis, consumer, interval=self.relay_interval
                )
            )
            if not burst:
                loops.append(
                    retention.Pruner(
                        runtime.sessions,
                        runtime.redis,
                        retention=retention.Retention.from_settings(settings),
                    )
                )
                loops.append(
                    mention_retention.MentionPruner(
                        runtime.sessions,
                        runtime.redis,
                        mention_retention.MentionRetention.from_settings(settings),
                    )
                )
                loops.append(pending_lists.PendingListCleaner(runtime.sessions))
                loops.append(
                    Periodic(
                        f"{consumer} readiness",
                        partial(_beat, worker, runtime.redis),
                        interval=readiness.HEARTBEAT_SECONDS,
                    )
                )
                if process.metrics_port or os.environ.get(MULTIPROC_DIR):
                    loops.append(ClusterGauges(runtime.sessions, runtime.redis))
                loops.extend(runtime.loops)
            for loop in loops:
                loop.start()
            return runtime

        async def startup(ctx: dict[str, Any]) -> None:
            # Run at every connection to Redis: the runtime is built at the first and kept
            # through outages (its loops ride them out on the same pool).
            runtime: R | None = ctx.get("runtime")
            if runtime is None:
                runtime = ctx["runtime"] = held["runtime"] = await build_runtime(ctx["redis"])
            await readiness.mark_ready(runtime.redis, consumer)

        async def shutdown(ctx: dict[str, Any]) -> None:
            runtime: R | None = ctx.get("runtime")
            if runtime is not None:
                # Not ready from now on; during an outage the mark expires by itself.
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(2.0):
                        await readiness.unmark(runtime.redis, consumer)
            # A burst worker never started the service's loops, but they may hold resources
            # (an HTTP client) that only `stop` releases; stopping an idle loop is a no-op.
            idle = [loop for loop in runtime.loops if loop not in loops] if runtime else []
            for loop in [*loops, *idle]:
                await loop.stop()
            if runtime is not None:
                await runtime.engine.dispose()

        async def ready() -> dict[str, bool]:
            runtime = held.get("runtime")
            if runtime is None:
                return {"postgres": False, "redis": False, "consuming": False}
            postgres, redis = await asyncio.gather(
                check_postgres(runtime.engine), check_redis(runtime.redis)
            )
            return {"postgres": postgres, "redis": redis, "consuming": worker.consuming}

        probes = (
            ProbeServer(process.bind_host, process.metrics_port, ready)
            if process.metrics_port and not burst
            else None
        )
        worker = ReconnectingWorker(
            consumer,
            drain_seconds=process.drain_seconds,
            probes=probes,
            functions=[
                _job(
                    consumer,
                    self.queue,
                    route,
                    key=key,
                    command_result_seconds=command_result_seconds,
                )
                for route in routes
            ],
            queue_name=self.queue,
            redis_settings=redis_settings(settings.redis_url),
            on_startup=startup,
            on_shutdown=shutdown,
            job_serializer=serialization.dumps,
            job_deserializer=serialization.loads,
            max_jobs=max_jobs,
            poll_delay=self.poll_delay,
            # Jobs arq fails itself (an unknown name, tries spent): as long as a command's.
            keep_result=command_result_seconds,
            max_tries=MAX_TRIES,
            job_timeout=max((route.timeout for route in routes), default=DEFAULT_TIMEOUT_SECONDS)
            + ARQ_TIMEOUT_MARGIN,
            handle_signals=how.get("handle_signals", True),
            burst=burst,
        )
        return worker


async def _beat(worker: ReconnectingWorker, redis: ArqRedis) -> None:
    """Keep the worker's readiness mark alive while it consumes; let it expire otherwise."""
    if worker.consuming:
        await readiness.mark_ready(redis, worker.consumer)


def run_forever(worker: Worker) -> None:
    """Run `worker` in the foreground until SIGTERM or SIGINT, logging with personal data masked,
    traced if the environment says so (docs/tracing.md).

    A Redis outage does not end it: the worker waits for Redis and consumes again.
    """
    configure_logging(worker)
    if isinstance(worker, ReconnectingWorker):
        configure_tracing(worker.consumer)
    worker.run()
