"""Probes and shutdown, on real processes and servers.

A worker runs as `crisiswatch worker` runs it (`run_forever`, arq's signal handling) in a
process of its own with METRICS_PORT set: its /livez answers while Redis is away and its
/readyz does not; SIGTERM lets a slow job in flight finish before the process ends, and the
worker's readiness mark lives only as long as its heartbeat. Ingest and the gateway answer
/livez and /readyz the same way while a dependency of the test's own is stopped.
"""

import asyncio
import logging
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.embedded import EmbeddedPostgres, EmbeddedRedis, start_redis
from gateway.app import create_app as create_gateway
from libs.contracts.messages import CommandResult, CreateWatchlist
from libs.database.tables import MessageReceipt
from libs.messaging import readiness
from libs.messaging.connection import connect
from libs.messaging.publisher import publish
from libs.messaging.worker import Outcome, Route, Runtime, WorkerSpec, run_forever
from libs.settings import Settings
from services.ingest.app import create_app as create_ingest
from tests.fixtures.http import serving
from tests.fixtures.ports import free_port
from tests.fixtures.servers import Servers
from tests.fixtures.worker_process import worker_process

# These tests run real worker processes against a Redis of their own; what they check does not
# depend on which PostgreSQL the worker writes to, so one backend (the embedded) is enough.
pytestmark = pytest.mark.parametrize("servers", ["embedded"], indirect=True)

logger = logging.getLogger(__name__)

CONSUMER = "test-probes"
SLOW = "slow"
SLOW_SECONDS = 3.0
DRAIN_SECONDS = 15


async def _answer_slowly(
    runtime: Runtime, session: AsyncSession, command: CreateWatchlist
) -> Outcome:
    logger.info("handling %s", command.message_id)
    if command.name == SLOW:
        await asyncio.sleep(SLOW_SECONDS)
    return Outcome(result=CommandResult.success(pid=os.getpid()))


def serve(database_url: str, redis_url: str) -> None:
    """The worker process: one route, run the way `crisiswatch worker` runs a service."""
    spec = WorkerSpec(CONSUMER, CreateWatchlist.QUEUE, [Route(CreateWatchlist, _answer_slowly)])
    run_forever(spec.build(Settings(database_url=database_url, redis_url=redis_url), max_jobs=2))


def _worker(
    database_url: str, redis_url: str, log: Path, port: int
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    env = {"METRICS_PORT": str(port), "DRAIN_SECONDS": str(DRAIN_SECONDS)}
    return worker_process("tests.test_probes", database_url, redis_url, log, env)


async def _until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


def _status(url: str) -> int | None:
    try:
        return httpx.get(url, timeout=3).status_code
    except httpx.HTTPError:
        return None


async def _async_status(url: str) -> int | None:
    return await asyncio.to_thread(_status, url)


def _command(name: str) -> CreateWatchlist:
    return CreateWatchlist(organization_id=uuid.uuid4(), actor="test", name=name, keywords=["n"])


async def _receipts(sessions: async_sessionmaker[AsyncSession]) -> set[uuid.UUID]:
    async with sessions() as session:
        rows = await session.exec(
            select(MessageReceipt.message_id).where(col(MessageReceipt.consumer) == CONSUMER)
        )
        return set(rows.all())


async def test_sigterm_lets_a_slow_job_in_flight_finish_then_stops(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redis = await connect(servers.redis_url)
    await redis.flushdb()
    try:
        with _worker(servers.database_url, servers.redis_url, tmp_path / "w.log", port) as worker:
            await _until(lambda: _status(f"{base}/readyz") == 200, 60, "the worker to be ready")
            mark = await readiness.marks(redis, [CONSUMER])
            assert mark[CONSUMER] == f"{socket.gethostname()}:{worker.pid}"
            # The mark lives only as long as the heartbeat keeps it.
            assert (
                0 < await redis.ttl(f"crisiswatch:ready:{CONSUMER}") <= readiness.READY_TTL_SECONDS
            )

            slow = _command(SLOW)
            await publish(redis, slow)
            log = tmp_path / "w.log"
            await _until(lambda: str(slow.message_id) in log.read_text(), 30, "the job to start")
            worker.send_signal(signal.SIGTERM)
            stopped_at = time.monotonic()
            # Draining: still alive, no longer ready, and it takes no new job.
            await asyncio.sleep(0.3)
            assert await _async_status(f"{base}/livez") == 200
            assert await _async_status(f"{base}/readyz") == 503
            late = _command("late")
            await publish(redis, late)

            code = await asyncio.to_thread(worker.wait, DRAIN_SECONDS + 15)
            took = time.monotonic() - stopped_at
            assert code == 0, log.read_text()[-3000:]
            assert took < DRAIN_SECONDS, f"took {took:.1f} s: the drain waited past the job"
            done = await _receipts(sessions)
            assert slow.message_id in done, log.read_text()[-3000:]
            assert late.message_id not in done
            # It took its own mark away when it stopped.
            assert (await readiness.marks(redis, [CONSUMER]))[CONSUMER] is None
    finally:
        await redis.aclose()


async def test_a_worker_is_live_but_not_ready_while_redis_is_away(
    servers: Servers, own_redis: EmbeddedRedis, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    redis = own_redis
    log = tmp_path / "w.log"
    with _worker(servers.database_url, redis.url, log, port) as worker:
        await _until(lambda: _status(f"{base}/readyz") == 200, 60, "the worker to be ready")
        assert (await asyncio.to_thread(httpx.get, f"{base}/readyz")).json() == {
            "status": "ok",
            "checks": {"postgres": "ok", "redis": "ok", "consuming": "ok"},
        }
        metrics = await asyncio.to_thread(httpx.get, f"{base}/metrics")
        assert metrics.status_code == 200
        assert "crisiswatch_queue_depth" in metrics.text

        await asyncio.to_thread(redis.stop)
        await _until(lambda: _status(f"{base}/readyz") == 503, 30, "readiness to fail")
        down = await asyncio.to_thread(httpx.get, f"{base}/readyz")
        assert down.json()["checks"]["redis"] == "down"
        assert await _async_status(f"{base}/livez") == 200
        assert worker.poll() is None

        again = await asyncio.to_thread(start_redis, redis.socket.parent, persistent=False)
        try:
            await _until(lambda: _status(f"{base}/readyz") == 200, 60, "readiness to return")
        finally:
            worker.send_signal(signal.SIGTERM)
            await asyncio.to_thread(worker.wait, 30)
            await asyncio.to_thread(again.stop)


async def test_ingest_is_live_but_not_ready_while_postgres_is_down(
    servers: Servers, own_postgres: EmbeddedPostgres
) -> None:
    settings = Settings(database_url=own_postgres.url, redis_url=servers.redis_url)
    async with serving(create_ingest(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        await asyncio.to_thread(own_postgres.stop)
        for path in ("/readyz", "/healthz"):
            answer = await http.get(path)
            assert answer.status_code == 503, path
            assert answer.json()["checks"] == {"postgres": "down", "redis": "ok"}
        assert (await http.get("/livez")).status_code == 200


async def test_the_gateway_is_live_but_not_ready_while_redis_is_down(
    servers: Servers, own_redis: EmbeddedRedis
) -> None:
    settings = Settings(database_url=servers.database_url, redis_url=own_redis.url)
    async with serving(create_gateway(settings)) as url, httpx.AsyncClient(base_url=url) as http:
        assert (await http.get("/livez")).status_code == 200
        assert (await http.get("/readyz")).status_code == 200
        await asyncio.to_thread(own_redis.stop)
        for path in ("/readyz", "/healthz"):
            answer = await http.get(path)
            assert answer.status_code == 503, path
            assert answer.json()["checks"] == {"postgres": "ok", "redis": "down"}
        assert (await http.get("/livez")).status_code == 200
