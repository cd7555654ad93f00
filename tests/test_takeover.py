"""A killed worker's job is taken over by another within seconds, not after its timeout.

Two worker processes consume one queue, as replicas do. The first takes a slow command and
is killed with SIGKILL in the middle of it; the second, already waiting, must run the
command once the first's in-progress lease lapses (`libs.messaging.takeover`: seconds),
where arq's own mark would have held it for the route's timeout plus ten seconds (70 s).
"""

import asyncio
import logging
import os
import re
import subprocess
import time
import uuid
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.embedded import EmbeddedRedis
from libs.contracts.messages import CommandResult, CreateWatchlist
from libs.messaging.connection import connect
from libs.messaging.publisher import publish
from libs.messaging.takeover import LEASE_SECONDS
from libs.messaging.worker import (
    ARQ_TIMEOUT_MARGIN,
    DEFAULT_TIMEOUT_SECONDS,
    Outcome,
    Route,
    Runtime,
    WorkerSpec,
    run_forever,
)
from libs.settings import Settings
from tests.fixtures.servers import Servers
from tests.fixtures.worker_process import worker_process

# These tests run real worker processes against a Redis of their own; what they check does not
# depend on which PostgreSQL the worker writes to, so one backend (the embedded) is enough.
pytestmark = pytest.mark.parametrize("servers", ["embedded"], indirect=True)

logger = logging.getLogger(__name__)

CONSUMER = "test-takeover"
SLOW_SECONDS = 15.0
# How long arq's own in-progress mark would have held a killed worker's job.
ARQ_MARK_SECONDS = DEFAULT_TIMEOUT_SECONDS + ARQ_TIMEOUT_MARGIN


async def _slowly(runtime: Runtime, session: AsyncSession, command: CreateWatchlist) -> Outcome:
    logger.warning("started %s in %d", command.message_id, os.getpid())
    await asyncio.sleep(SLOW_SECONDS)
    return Outcome(result=CommandResult.success(pid=os.getpid()))


def serve(database_url: str, redis_url: str) -> None:
    """A worker process with one slow route of the default timeout."""
    spec = WorkerSpec(CONSUMER, CreateWatchlist.QUEUE, [Route(CreateWatchlist, _slowly)])
    run_forever(spec.build(Settings(database_url=database_url, redis_url=redis_url), max_jobs=1))


def _worker(
    database_url: str, redis_url: str, log: Path
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return worker_process("tests.test_takeover", database_url, redis_url, log)


def _text(log: Path) -> str:
    return log.read_text(errors="replace")


async def _started(log: Path, message_id: uuid.UUID, seconds: float) -> int:
    """Wait until the worker writing `log` starts the message; return that worker's pid."""
    pattern = re.compile(rf"started {message_id} in (\d+)")
    deadline = time.monotonic() + seconds
    while (found := pattern.search(_text(log))) is None:
        assert time.monotonic() < deadline, f"not started in {seconds} s:\n{_text(log)}"
        await asyncio.sleep(0.1)
    return int(found.group(1))


async def test_a_killed_workers_job_is_taken_over_within_seconds(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    own_redis: EmbeddedRedis,
    tmp_path: Path,
) -> None:
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    command = CreateWatchlist(organization_id=uuid.uuid4(), actor="t", name="n", keywords=["n"])
    redis = await connect(own_redis.url)
    try:
        with _worker(servers.database_url, own_redis.url, first_log) as first:
            await publish(redis, command)
            assert await _started(first_log, command.message_id, 120) == first.pid
            with _worker(servers.database_url, own_redis.url, second_log) as second:
                # The second replica is up and polling before the first dies.
                await asyncio.sleep(LEASE_SECONDS)
                assert "started" not in _text(second_log)
                first.kill()
                first.wait()
                killed_at = time.monotonic()
                pid = await _started(second_log, command.message_id, ARQ_MARK_SECONDS)
                taken_over_after = time.monotonic() - killed_at
        assert pid == second.pid
        # Within the lease and a few polls, well before arq's own mark would have lapsed.
        assert taken_over_after < LEASE_SECONDS + 10, taken_over_after
        assert taken_over_after < ARQ_MARK_SECONDS
    finally:
        await redis.aclose()
