"""What the benchmarks share: a realistic fixed corpus, servers, keys and child processes.

Scripts import it as a sibling module (`python bench/<script>.py` puts `bench/` on the path).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy.engine import make_url

from crisiswatch.demo_stream import chatter, crisis
from crisiswatch.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from libs.contracts.messages import CreateWatchlist
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade
from services.analysis.configuration import create_watchlist

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"
_SENTENCE = re.compile(r"[^。！？!?\n]+[。！？!?]?")
# A crisis burst: this many complaints by different users naming one watchlist's tag.
BURST = 25
BRAND_RULE = "禾岚 | 启护 | 悠羊"


def realistic_texts() -> list[str]:
    """The demo stream's posts, plus sentences of the seed documents when they are present.

    The demo posts are written like Weibo/Xiaohongshu/Douyin posts; the seed sentences add
    longer, more varied Chinese (some traditional) so segmentation meets unknown words.
    """
    now = datetime.now(UTC)
    texts = [post["text"] for post in chatter("bench", now) + crisis("bench", now)]
    if SEEDS.is_dir():
        for path in sorted(SEEDS.glob("*.txt")):
            for match in _SENTENCE.finditer(path.read_text(encoding="utf-8")):
                sentence = match.group().strip()
                if 12 <= len(sentence) <= 200:
                    texts.append(sentence)
    return texts


def fixed_corpus(total: int) -> list[str]:
    """`total` texts cycling through `realistic_texts()`, the same on every run."""
    texts = realistic_texts()
    return [texts[i % len(texts)] for i in range(total)]


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dsn(url: str) -> str:
    """Return a DATABASE_URL as plain asyncpg wants it."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def make_key(
    database_url: str, slug: str = "bench", role: str = "ingest"
) -> tuple[uuid.UUID, str]:
    """Create (or reuse) an organization and a key for it."""
    from libs.auth.admin import create_key, ensure_organization
    from libs.contracts.enums import Role
    from libs.database.engine import transaction

    engine = create_engine(database_url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            org = await ensure_organization(session, slug)
            key = await create_key(session, org, Role(role))
            return org.id, key.secret
    finally:
        await engine.dispose()


def wait_http(url: str, timeout: float = 60) -> None:
    """Return once `url`/healthz answers 200."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} not healthy")


@contextmanager
def embedded_servers(prefix: str) -> Iterator[tuple[EmbeddedPostgres, EmbeddedRedis]]:
    """Run a migrated PostgreSQL and a Redis under a fresh /tmp folder; remove both after."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    pg = start_postgres(root / "pg")
    redis = start_redis(root / "redis", persistent=False)
    try:
        upgrade(pg.url)
        yield pg, redis
    finally:
        redis.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Org:
    """One organization of a load: its key and its crisis bursts' watchlists (their tags)."""

    slug: str
    id: uuid.UUID
    key: str
    bursts: list[str] = field(default_factory=list)


async def setup_orgs(
    database_url: str, count: int, bursts_per_org: int, prefix: str = "load"
) -> list[Org]:
    """Create `count` organizations, a key each, a brand watchlist and one per burst."""
    orgs = []
    engine = create_engine(database_url, pool_size=1)
    try:
        for index in range(count):
            slug = f"{prefix}-{index}"
            org_id, key = await make_key(database_url, slug)
            org = Org(slug, org_id, key, [f"事件{index}x{n}" for n in range(bursts_per_org)])
            async with transaction(session_factory(engine)) as session:
                now = datetime.now(UTC)
                rules = [("品牌", BRAND_RULE)] + [
                    (tag, f"{tag} & (异物 | 拉肚子 | 维权 | 曝光 | 变质)") for tag in org.bursts
                ]
                for name, rule in rules:
                    result = await create_watchlist(
                        session,
                        CreateWatchlist(
                            organization_id=org_id, actor="bench", name=name, query=rule
                        ),
                        now=now,
                    )
                    assert result.ok, result
            orgs.append(org)
    finally:
        await engine.dispose()
    return orgs


def chatter_post(org: Org, texts: list[str], n: int, stream: str = "c") -> dict[str, Any]:
    """A background post: realistic text, an id unique within `stream`, posted now."""
    return {
        "source": "weibo",
        "external_id": f"{org.slug}-{stream}{n}",
        "text": texts[n % len(texts)],
        "posted_at": datetime.now(UTC).isoformat(),
        "author": {"handle": f"用户{n % 5000}", "followers": 50 + n % 3000},
        "metrics": {"reposts": 0, "comments": n % 7, "likes": n % 31, "views": n % 900},
    }


def burst_posts(org: Org, tag: str, complaints: list[str]) -> list[dict[str, Any]]:
    """A crisis burst: complaints by different users, each naming the burst's tag."""
    now = datetime.now(UTC).isoformat()
    return [
        {
            "source": "weibo",
            "external_id": f"{org.slug}-{tag}-{i}",
            "text": f"{tag} {complaints[i % len(complaints)]}",
            "posted_at": now,
            "author": {"handle": f"投诉者{tag}{i}", "followers": 200 + 37 * i},
            "metrics": {"reposts": 3, "comments": 5, "likes": 9, "views": 1200},
        }
        for i in range(BURST)
    ]


def spawn(
    command: list[str], env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start `python -m crisiswatch <command>` with `env` over ours; output appended to `log`."""
    sink: IO[bytes] | int = log.open("ab") if log is not None else subprocess.DEVNULL
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "crisiswatch", *command],
            env={**os.environ, **env},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    finally:
        if not isinstance(sink, int):
            sink.close()  # the child holds its own copy


def postmaster_pid(pgdata: Path) -> int:
    """Return the pid of the postmaster running on `pgdata` (from postmaster.pid)."""
    return int((pgdata / "postmaster.pid").read_text().split()[0])


@contextmanager
def services(
    env: dict[str, str], *commands: list[str], logs: Path | None = None
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Run `crisiswatch <command>` children for the block; stop them with SIGTERM after.

    The block gets the children, in the order of `commands`. With `logs`, each child's
    output goes to `<logs>/<n>-<command>.log` for a post-mortem.
    """
    children = [
        spawn(
            command,
            env,
            logs / f"{number}-{'-'.join(command)}.log" if logs is not None else None,
        )
        for number, command in enumerate(commands)
    ]
    try:
        yield children
    finally:
        for child in children:
            child.send_signal(signal.SIGTERM)
        for child in children:
            child.wait(30)


def percentile(values: list[float], share: float) -> float:
    """Return the nearest-rank percentile of `values` (share in [0, 1])."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(share * len(ordered)) - 1))]


def _stat(pid: int | str) -> list[str]:
    """Return the fields of /proc/<pid>/stat after the command name (the state first)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) process `pid` has used so far (Linux /proc)."""
    fields = _stat(pid)
    # utime and stime are fields 14 and 15 of the file, 12 and 13 after the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds(parent: int) -> float:
    """Return the CPU time all children of `parent` have used, e.g. PostgreSQL's backends.

    Live children are read one by one; those that ended count through the parent's
    cutime and cstime (fields 16 and 17), so the total only grows.
    """
    fields = _stat(parent)
    total = (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            child = _stat(entry.name)
        except OSError:  # the process ended meanwhile
            continue
        if int(child[1]) == parent:
            total += (int(child[11]) + int(child[12])) / os.sysconf("SC_CLK_TCK")
    return total
