"""A worker process waits out a Redis outage and consumes again, without exiting.

The worker runs as `crisiswatch worker` runs it (`run_forever`, arq's signal handling) in a
process of its own, against a Redis of the test's own that the test kills and starts again
on the same socket, and the test backend's PostgreSQL. Its one route answers a command with
the process id, so an answer shows which process handled the command.
"""

import asyncio
import logging
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from arq.jobs import Job
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.embedded import EmbeddedRedis, start_redis
from libs.contracts.messages import CommandResult, CreateWatchlist
from libs.database.tables import MessageReceipt
from libs.messaging.connection import connect
from libs.messaging.publisher import call, publish
from libs.messaging.worker import Outcome, Route, Runtime, WorkerSpec, run_forever
from libs.settings import Settings
from tests.fixtures.servers import Servers
from tests.fixtures.worker_process import worker_process

# These tests run real worker processes against a Redis of their own; what they check does not
# depend on which PostgreSQL the worker writes to, so one backend (the embedded) is enough.
pytestmark = pytest.mark.parametrize("servers", ["embedded"], indirect=True)

logger = logging.getLogger(__name__)

CONSUMER = "test-reconnect"
# What the worker logs once per outage (`libs.messaging.reconnecting`).
OUTAGE_WARNING = "waiting for it with back-off"
# arq alone gave up after ten connection attempts a second apart; wait out more than that.
PAST_ARQ_RETRIES_SECONDS = 12.0


# A command named SLOW takes this long, to be in flight when Redis goes away.
SLOW = "slow"
SLOW_SECONDS = 2.0
# Short, so that a job left in progress is delivered again soon (arq's in-progress mark
# lasts the route's timeout plus 20 s).
ROUTE_TIMEOUT = SLOW_SECONDS + 1


async def _answer_with_pid(
    runtime: Runtime, session: AsyncSession, command: CreateWatchlist
) -> Outcome:
    logger.info("handling %s", command.message_id)
    if command.name == SLOW:
        await asyncio.sleep(SLOW_SECONDS)
    return Outcome(result=CommandResult.success(pid=os.getpid()))


def serve(database_url: str, redis_url: str) -> None:
    """The worker process: one route, run the way `crisiswatch worker` runs a service."""
    spec = WorkerSpec(
        CONSUMER, CreateWatchlist.QUEUE, [Route(CreateWatchlist, _answer_with_pid, ROUTE_TIMEOUT)]
    )
    run_forever(spec.build(Settings(database_url=database_url, redis_url=redis_url), max_jobs=1))


def _worker(
    database_url: str, redis_url: str, log: Path
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return worker_process("tests.test_worker_reconnect", database_url, redis_url, log)


def _restart(redis: EmbeddedRedis, *, persistent: bool = False) -> EmbeddedRedis:
    """Start Redis again in its folder, on the socket the worker knows."""
    again = start_redis(redis.socket.parent, persistent=persistent)
    assert again.socket == redis.socket
    return again


def _command(name: str = "n") -> CreateWatchlist:
    return CreateWatchlist(organization_id=uuid.uuid4(), actor="test", name=name, keywords=["n"])


async def _until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def _alive(process: subprocess.Popen[bytes], log: Path) -> None:
    code = process.poll()
    assert code is None, f"the worker exited with {code}:\n{log.read_text()[-3000:]}"


async def _receipts(sessions: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessions() as session:
        rows = await session.exec(
            select(MessageReceipt.message_id).where(col(MessageReceipt.consumer) == CONSUMER)
        )
        return set(rows.all())


async def _until_applied(sessions: async_sessionmaker[AsyncSession], message_id: uuid.UUID) -> None:
    deadline = time.monotonic() + 30
    while message_id not in await _receipts(sessions):
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_worker_waits_out_a_redis_outage_and_consumes_again(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    before, after = _command(), _command()
    again: EmbeddedRedis | None = None
    with _worker(servers.database_url, own_redis.url, log) as worker:
        try:
            redis = await connect(own_redis.url)
            first = await call(redis, before, timeout=60)
            assert first.data == {"pid": worker.pid}

            own_redis.process.kill()  # kill -9: no goodbye to its clients
            own_redis.process.wait()
            await asyncio.sleep(PAST_ARQ_RETRIES_SECONDS)
            _alive(worker, log)

            again = _restart(own_redis)
            second = await call(redis, after, timeout=30)
            assert second.data == {"pid": worker.pid}  # the same process, never restarted
            _alive(worker, log)
            assert await _receipts(sessions) == {before.message_id, after.message_id}
            text = log.read_text()
            assert text.count(OUTAGE_WARNING) == 1, text  # one warning for the outage
            assert "Traceback" not in text, text

            # A stop while waiting for Redis is prompt and clean.
            again.process.kill()
            again.process.wait()
            await _until(lambda: log.read_text().count(OUTAGE_WARNING) == 2, 10)
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(10) == 0, log.read_text()
            await redis.aclose()
        finally:
            if again is not None:
                again.stop()


async def test_a_worker_started_while_redis_is_down_consumes_once_it_is_up(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    log = tmp_path / "worker.log"
    command = _command()
    own_redis.stop()
    again: EmbeddedRedis | None = None
    with _worker(servers.database_url, own_redis.url, log) as worker:
        try:
            # From its first attempt to reach Redis (either version's log says "redis").
            await _until(lambda: "redis" in log.read_text().lower(), 60)
            await asyncio.sleep(PAST_ARQ_RETRIES_SECONDS)
            _alive(worker, log)

            again = _restart(own_redis)
            redis = await connect(again.url)
            answer = await call(redis, command, timeout=30)
            assert answer.data == {"pid": worker.pid}
            assert await _receipts(sessions) == {command.message_id}
            await redis.aclose()

            worker.send_signal(signal.SIGINT)
            assert worker.wait(10) == 0, log.read_text()
        finally:
            if again is not None:
                again.stop()


async def test_a_job_in_flight_when_redis_went_away_is_applied_once_and_answered(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    slow = _command(SLOW)
    persistent = start_redis(tmp_path / "redis", persistent=True)  # the queue survives a stop
    again: EmbeddedRedis | None = None
    with _worker(servers.database_url, persistent.url, log) as worker:
        try:
            redis = await connect(persistent.url)
            await publish(redis, slow)
            await _until(lambda: f"handling {slow.message_id}" in log.read_text(), 60)
            persistent.stop()  # while the job runs: its result cannot be recorded
            await _until_applied(sessions, slow.message_id)  # committed; only its result is lost
            _alive(worker, log)

            again = _restart(persistent, persistent=True)
            # The test's own client held connections to the stopped server: it opens new ones,
            # as any client does, so that only the worker's reconnecting is under test.
            await redis.aclose()
            redis = await connect(again.url)
            # Delivered again once its in-progress mark expires; the receipt answers it.
            answer = await Job(
                str(slow.message_id),
                redis,
                _queue_name=slow.QUEUE,
                _deserializer=redis.job_deserializer,
            ).result(timeout=60, poll_delay=0.1)
            assert CommandResult.model_validate(answer).data == {"pid": worker.pid}
            text = log.read_text()
            assert "try=2" in text, text  # delivered again ...
            assert text.count(f"handling {slow.message_id}") == 1, text  # ... and not applied again
            assert text.count(OUTAGE_WARNING) == 1 and "Traceback" not in text, text
            _alive(worker, log)
            await redis.aclose()
        finally:
            persistent.stop()
            if again is not None:
                again.stop()
