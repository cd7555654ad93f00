"""The launcher keeps the embedded servers alive and backs off instead of giving up."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crisiswatch.embedded import start_redis
from crisiswatch.launcher import MAX_RESTARTS_PER_MINUTE, Launcher, StartupError, restart_delay
from libs.settings import Settings


def test_restarts_back_off_once_a_service_flaps() -> None:
    now = 1000.0
    within = [now - 50 + i for i in range(MAX_RESTARTS_PER_MINUTE)]
    assert restart_delay(within, now) == 0.0
    assert restart_delay([*within, now - 1], now) == 1.0
    assert restart_delay([*within, now - 2, now - 1], now) == 2.0
    assert restart_delay([now - 5] * 30, now) == 60.0
    assert restart_delay([now - 120] * 30, now) == 0.0  # an old storm is forgotten


def test_a_dead_embedded_redis_is_started_again_on_the_same_socket(tmp_path: Path) -> None:
    said: list[str] = []
    launcher = Launcher(Settings(crisiswatch_data_dir=tmp_path), say=said.append)
    launcher.redis = start_redis(tmp_path / "redis", persistent=False)
    url = launcher.redis.url
    try:
        launcher.redis.process.kill()
        launcher.redis.process.wait()
        launcher._revive_servers()
        assert launcher.redis.alive() and launcher.redis.url == url
        assert said == ["embedded Redis stopped; starting it again"]
    finally:
        launcher.redis.stop()


def test_redis_does_not_outlive_a_killed_launcher(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from crisiswatch.embedded import start_redis\n"
        "r = start_redis(Path(sys.argv[1]), persistent=False)\n"
        "print(r.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "redis")], stdout=subprocess.PIPE, text=True
    )
    assert launcher.stdout is not None
    pid = int(launcher.stdout.readline())
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 10
    while _running(pid):
        assert time.monotonic() < deadline, "redis-server outlived the process that started it"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


class _Readiness(BaseHTTPRequestHandler):
    """Answers /readyz 200 where the server is marked ready, else 503 naming PostgreSQL."""

    def do_GET(self) -> None:
        ready = getattr(self.server, "ready", False)
        body = b'{"status":"ok"}' if ready else b'{"postgres":"connection refused"}'
        self.send_response(200 if ready else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def probes() -> Iterator[dict[str, str]]:
    servers = []
    for ready in (True, False):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Readiness)
        server.ready = ready  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    try:
        yield {
            "ingest": f"http://127.0.0.1:{servers[0].server_port}",
            "gateway": f"http://127.0.0.1:{servers[1].server_port}",
        }
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def test_a_service_not_ready_by_the_deadline_is_named_with_its_last_answer(
    tmp_path: Path, probes: dict[str, str]
) -> None:
    settings = Settings(crisiswatch_data_dir=tmp_path, startup_timeout_seconds=0.5)
    launcher = Launcher(settings, say=lambda _: None)
    with pytest.raises(StartupError) as failed:
        launcher._wait_healthy(probes, time.monotonic() + settings.startup_timeout_seconds)
    message = str(failed.value)
    assert "STARTUP_TIMEOUT_SECONDS" in message
    assert 'gateway (last: 503 {"postgres":"connection refused"})' in message
    assert "ingest" not in message  # it answered 200 and was not waited for again


def test_workers_not_ready_by_the_same_deadline_are_named(tmp_path: Path) -> None:
    settings = Settings(crisiswatch_data_dir=tmp_path, startup_timeout_seconds=0.5)
    launcher = Launcher(settings, say=lambda _: None)
    redis = start_redis(tmp_path / "redis", persistent=False)
    try:
        with pytest.raises(StartupError) as failed:
            launcher._wait_workers(redis.url, time.monotonic() + settings.startup_timeout_seconds)
    finally:
        redis.stop()
    assert str(failed.value) == (
        "workers not ready after 0.5 s (STARTUP_TIMEOUT_SECONDS): analysis, incidents, notify"
    )
