"""`crisiswatch up`: one process that owns the servers and supervises the five services.

The launcher starts embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point
elsewhere), migrates, creates the demo organization on first run, then runs ingest, the
gateway and both workers as child processes in their own process groups. Ctrl-C or SIGTERM
reaches only the launcher, which stops the services first and the servers last, so no
postgres or redis process is left behind and no service loses its database mid-request.
"""

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol, TypeVar

import httpx

from crisiswatch.bootstrap import Credentials, ensure_demo_credentials
from crisiswatch.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from crisiswatch.runtime import (
    Runtime,
    archive_signing_key,
    clear_runtime,
    credentials_path,
    data_dir,
    data_key,
    write_runtime,
)
from libs.database.migrate import upgrade
from libs.messaging import readiness
from libs.messaging.worker import WorkerSettings
from libs.settings import Settings

SERVICES: dict[str, list[str]] = {
    "ingest": ["serve", "ingest"],
    "gateway": ["serve", "gateway"],
    "analysis": ["worker", "analysis"],
    "incidents": ["worker", "incidents"],
    "notify": ["worker", "notify"],
}
WORKERS = ("analysis", "incidents", "notify")
# Workers serve metrics and probes on METRICS_PORT + 1, + 2, + 3 (9101–9103 by default), so
# several share one machine; a container's single worker uses METRICS_PORT itself.
DEFAULT_METRICS_BASE = 9100
# Past the workers' drain (DRAIN_SECONDS), so a stop never cuts a job short that could end.
STOP_MARGIN_SECONDS = 10.0
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# More exits than this in a minute is flapping: restarts then back off (up to a minute)
# instead of hammering a dependency that is down, and nothing else is stopped.
MAX_RESTARTS_PER_MINUTE = 5
MAX_BACKOFF_SECONDS = 60.0
# A console under development runs on its own dev server, on whatever port it picked.
DEVELOPMENT_ORIGINS = "http://localhost:*,http://127.0.0.1:*"
# A service's first /readyz opens its first pool connections: on a busy machine that can
# take seconds, and a probe cut short only starts over.
PROBE_TIMEOUT_SECONDS = 5.0


class _Server(Protocol):
    """An embedded server the launcher watches."""

    def alive(self) -> bool: ...


Server = TypeVar("Server", bound=_Server)


class Stop(Exception):
    """Raised in the main loop when a stop signal arrives."""


class StartupError(Exception):
    """A service did not come up; the message says which and where to look."""


@dataclass
class Child:
    """A supervised service process."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)
    start_at: float | None = None


def restart_delay(restarts: list[float], now: float) -> float:
    """Return how long to wait before the next restart, given the restarts' times.

    None within the allowance; past it, doubling with each further exit in the minute.
    """
    recent = [moment for moment in restarts if now - moment < 60]
    excess = len(recent) - MAX_RESTARTS_PER_MINUTE
    return 0.0 if excess <= 0 else min(MAX_BACKOFF_SECONDS, 2.0 ** (excess - 1))


def worker_metrics_ports(settings: Settings) -> dict[str, int]:
    """Return the port each worker serves its metrics and probes on under `up`."""
    base = WorkerSettings.extending(settings).metrics_port or DEFAULT_METRICS_BASE
    return {name: base + offset for offset, name in enumerate(WORKERS, start=1)}


def key_lines(credentials: Credentials, kept_in: Path, show: bool) -> list[str]:
    """Say where the demo organization's keys are; the secrets themselves only if asked.

    Terminal output is copied into logs and shared screens, so keys are not printed by default.
    """
    lines = [f"  organization `{credentials.organization}`"]
    if not show:
        return [*lines, f"    keys        in {kept_in} (`up --show-keys` prints them)"]
    return [
        *lines,
        f"    admin key   {credentials.admin_key}",
        f"    ingest key  {credentials.ingest_key}",
        f"    (kept in {kept_in})",
    ]


@dataclass
class Launcher:
    """Everything `up` started, so it can all be stopped in the right order."""

    settings: Settings
    say: Callable[[str], None] = print
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    children: list[Child] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    stop_requested: bool = False
    # Keys are secrets: printed only when asked, since terminal output ends up in logs.
    show_keys: bool = False

    def run(self) -> int:
        """Start everything, supervise until a signal, then stop everything.

        A stop signal only sets a flag, checked between steps: raising from the handler could
        interrupt a start half-way, after a server started but before it was recorded, and
        leave it running.
        """
        previous = {sig: signal.signal(sig, self._request_stop) for sig in _STOP_SIGNALS}
        code = 0
        try:
            self._start()
            self._supervise()
        except Stop:
            self.say("stopping…")
        except StartupError as exc:
            self.say(f"crisiswatch could not start: {exc}")
            code = 1
        finally:
            self._stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return code

    def _start(self) -> None:
        folder = data_dir(self.settings)
        database_url = os.environ.get("DATABASE_URL")
        redis_url = os.environ.get("REDIS_URL")
        if not database_url:
            self.say(f"starting embedded PostgreSQL in {folder / 'pg'}")
            self.postgres = start_postgres(folder / "pg")
            database_url = self.postgres.url
            self._check_stop()
        if not redis_url:
            self.say(f"starting embedded Redis in {folder / 'redis'}")
            self.redis = start_redis(folder / "redis")
            redis_url = self.redis.url
            self._check_stop()
        self.say("applying migrations")
        upgrade(database_url)
        self._check_stop()
        credentials = asyncio.run(
            ensure_demo_credentials(database_url, credentials_path(self.settings))
        )
        self.env = env = {
            # `up` is a developer's machine: GraphiQL and full errors, unless chosen otherwise.
            "CRISISWATCH_ENV": "development",
            "CORS_ALLOWED_ORIGINS": DEVELOPMENT_ORIGINS,
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CRISISWATCH_DATA_KEY": data_key(self.settings),
            "ARCHIVE_SIGNING_KEY": archive_signing_key(self.settings),
        }
        asyncio.run(readiness.clear(redis_url, WORKERS))
        ports = worker_metrics_ports(self.settings)
        for name, args in SERVICES.items():
            child = Child(name, args)
            if name in ports:
                child.env = {"METRICS_PORT": str(ports[name])}
            self._spawn(child, env)
            self.children.append(child)
        host = self.settings.bind_host
        ingest_url = f"http://{host}:{self.settings.ingest_port}"
        gateway_url = f"http://{host}:{self.settings.gateway_port}"
        probe_urls = {
            "ingest": ingest_url,
            "gateway": gateway_url,
            **{name: f"http://{host}:{port}" for name, port in ports.items()},
        }
        deadline = time.monotonic() + self.settings.startup_timeout_seconds
        self._wait_healthy({"ingest": ingest_url, "gateway": gateway_url}, deadline)
        self._wait_workers(redis_url, deadline)
        write_runtime(
            self.settings,
            Runtime(
                database_url,
                redis_url,
                ingest_url,
                gateway_url,
                launcher_pid=os.getpid(),
                probe_urls=probe_urls,
            ),
        )
        self.say(
            "\n".join(
                [
                    "",
                    "crisiswatch is up",
                    f"  ingest    {ingest_url}   (OpenAPI at {ingest_url}/docs)",
                    f"  gateway   {gateway_url}   (GraphiQL at {gateway_url}/graphql)",
                    "  workers   analysis, incidents, notify",
                    "  metrics   (and /livez, /readyz beside each; `crisiswatch status` asks them)",
                    *(f"    {name:<9} {url}/metrics" for name, url in probe_urls.items()),
                    f"  postgres  {_redact(database_url)}",
                    f"  redis     {redis_url}",
                    f"  data      {data_dir(self.settings)}",
                    *key_lines(credentials, credentials_path(self.settings), self.show_keys),
                    "  try: crisiswatch demo        stop: Ctrl-C",
                    "",
                ]
            )
        )

    def _wait_healthy(self, urls: dict[str, str], deadline: float) -> None:
        """Wait until every HTTP service answers its readiness probe, or fail at `deadline`
        saying what each one last answered."""
        pending = dict(urls)
        last: dict[str, str] = {name: "no answer yet" for name in urls}
        while pending:
            self._check_stop()
            for name, url in list(pending.items()):
                try:
                    answer = httpx.get(f"{url}/readyz", timeout=PROBE_TIMEOUT_SECONDS)
                except httpx.HTTPError as exc:
                    last[name] = type(exc).__name__
                    continue
                if answer.status_code == 200:
                    del pending[name]
                else:
                    last[name] = f"{answer.status_code} {answer.text[:200]}"
            self._check_children()
            if pending and time.monotonic() > deadline:
                waited = self.settings.startup_timeout_seconds
                detail = "; ".join(f"{name} (last: {last[name]})" for name in pending)
                raise StartupError(
                    f"not ready after {waited:g} s (STARTUP_TIMEOUT_SECONDS): {detail}"
                )
            if pending:
                time.sleep(0.2)

    def _wait_workers(self, redis_url: str, deadline: float) -> None:
        """Wait until every worker has loaded what it needs and takes jobs."""
        while True:
            self._check_stop()
            self._check_children()
            missing = asyncio.run(readiness.wait_ready(redis_url, WORKERS, timeout=1.0))
            if not missing:
                return
            if time.monotonic() > deadline:
                waited = self.settings.startup_timeout_seconds
                raise StartupError(
                    f"workers not ready after {waited:g} s (STARTUP_TIMEOUT_SECONDS): "
                    f"{', '.join(missing)}"
                )

    def _check_children(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                raise StartupError(
                    f"{child.name} exited during start-up (is its port already in use?)"
                )

    def _spawn(self, child: Child, env: dict[str, str]) -> None:
        child.process = subprocess.Popen(
            [sys.executable, "-m", "crisiswatch", *child.args],
            env={**env, **child.env},
            start_new_session=True,
        )

    def _request_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stop_requested = True

    def _check_stop(self) -> None:
        if self.stop_requested:
            raise Stop

    def _supervise(self) -> None:
        while True:
            time.sleep(0.5)
            self._check_stop()
            self._revive_servers()
            now = time.monotonic()
            for child in self.children:
                assert child.process is not None
                if child.start_at is not None:
                    if now >= child.start_at:
                        child.start_at = None
                        self._spawn(child, self.env)
                    continue
                code = child.process.poll()
                if code is None:
                    continue
                child.restarts = [t for t in child.restarts if now - t < 60] + [now]
                delay = restart_delay(child.restarts, now)
                self.say(
                    f"{child.name} exited with code {code}; restarting"
                    + (f" in {delay:.0f} s (it keeps exiting)" if delay else "")
                )
                child.start_at = now + delay

    def _revive_servers(self) -> None:
        """Start again an embedded server that died; services reconnect by themselves."""
        folder = data_dir(self.settings)
        self.redis = self._revived(
            self.redis, "Redis", lambda: start_redis(folder / "redis"), RuntimeError
        )
        self.postgres = self._revived(
            self.postgres, "PostgreSQL", lambda: start_postgres(folder / "pg"), Exception
        )

    def _revived(
        self,
        server: Server | None,
        name: str,
        start: Callable[[], Server],
        failure: type[Exception],
    ) -> Server | None:
        """Return `server` if it runs (or was never embedded), else a new one if it starts.

        A start that fails with `failure` is said and retried on the next round.
        """
        if server is None or server.alive():
            return server
        self.say(f"embedded {name} stopped; starting it again")
        try:
            return start()
        except failure as exc:
            self.say(f"embedded {name} did not start again, retrying: {exc}")
            return server

    def _stop(self) -> None:
        # A Ctrl-C while services drain must not abandon the servers half-stopped.
        for sig in _STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        grace = WorkerSettings.extending(self.settings).drain_seconds + STOP_MARGIN_SECONDS
        deadline = time.monotonic() + grace
        for process in running:
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.stop()
        clear_runtime(self.settings)
        self.say("stopped")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
