"""GraphQL pages against a bare FastAPI endpoint returning the same rows, same run.

Two pages a war-room console loads constantly: 50 mentions with their analysis and author,
and 50 incidents with their tasks. 50 concurrent clients on loopback hit the gateway
(`crisiswatch serve gateway`, one process) and then the bare endpoint (`bare_api.py`, one
uvicorn process) for the same time; both read the same embedded PostgreSQL. Printed for
each: requests/s and latency p50/p95 under that load, the CPU time the server process and
PostgreSQL spent per request, and the latency of one client alone; then the ratios.

The clients, both servers and PostgreSQL share the machine, so requests/s under load also
measures the client and whatever else runs; CPU time per request is the steadier figure
of what a page costs the server. Each phase is preceded by an unmeasured warm-up.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from harness import (
    ROOT,
    children_cpu_seconds,
    cpu_seconds,
    embedded_servers,
    free_port,
    make_key,
    percentile,
    realistic_texts,
    services,
    wait_http,
)

from libs.database.engine import create_engine, session_factory, transaction
from libs.database.tables import (
    Author,
    Incident,
    Mention,
    MentionAnalysis,
    ResponseTask,
    Watchlist,
)
from libs.text import content_hash, normalize

MENTIONS_QUERY = """
query { mentions(first: 50) { edges { node {
  id text postedAt source
  author { handle followers kind }
  analysis { sentiment sentimentScore matchedKeywords }
} } } }
"""
INCIDENTS_QUERY = """
query { incidents(first: 50) { edges { node {
  id title tier status detectedAt
  tasks { id title kind dueAt status }
} } } }
"""
TASKS = [
    ("acknowledge", 30),
    ("confirm_scope", 120),
    ("first_statement", 240),
    ("detailed_reply", 1440),
    ("full_plan", 2880),
]


async def seed(database_url: str, org: uuid.UUID, mentions: int, incidents: int) -> None:
    """Store realistic rows: mentions with authors and analyses, incidents with tasks."""
    engine = create_engine(database_url, pool_size=2)
    texts = realistic_texts()
    now = datetime.now(UTC)
    try:
        async with transaction(session_factory(engine)) as session:
            watchlist = Watchlist(organization_id=org, name="禾岚乳业", keywords=["禾岚"])
            authors = [
                Author(organization_id=org, source="weibo", handle=f"用户{i}", followers=i * 37)
                for i in range(200)
            ]
            session.add(watchlist)
            session.add_all(authors)
            await session.flush()
            for i in range(mentions):
                body = texts[i % len(texts)]
                mention = Mention(
                    organization_id=org,
                    source="weibo",
                    external_id=f"b{i}",
                    text=body,
                    text_normalized=normalize(body),
                    content_hash=content_hash(normalize(body)),
                    posted_at=now - timedelta(seconds=i * 7),
                    author_id=authors[i % len(authors)].id,
                )
                session.add(mention)
                await session.flush()
                session.add(
                    MentionAnalysis(
                        mention_id=mention.id,
                        organization_id=org,
                        sentiment=("negative", "neutral", "positive")[i % 3],
                        sentiment_score=0.1,
                        watchlist_ids=[watchlist.id],
                        matched_keywords=["禾岚"],
                    )
                )
            for i in range(incidents):
                detected = now - timedelta(minutes=i * 13)
                incident = Incident(
                    organization_id=org,
                    watchlist_id=watchlist.id,
                    title=f"「禾岚乳业」舆情事件 {i}",
                    tier="orange",
                    status="resolved" if i else "detected",
                    detected_at=detected,
                )
                session.add(incident)
                await session.flush()
                for position, (kind, minutes) in enumerate(TASKS):
                    session.add(
                        ResponseTask(
                            organization_id=org,
                            incident_id=incident.id,
                            kind=kind,
                            title=kind,
                            position=position,
                            due_at=detected + timedelta(minutes=minutes),
                        )
                    )
    finally:
        await engine.dispose()


def page_size(body: Any) -> int:
    """Return how many rows a response carries; raise if it is an error or not a page."""
    if isinstance(body, list):  # the bare endpoint
        return len(body)
    if "errors" in body:
        raise RuntimeError(f"GraphQL errors: {body['errors']}")
    (connection,) = body["data"].values()
    return len(connection["edges"])


async def hammer(
    url: str, clients: int, seconds: float, *, headers: dict[str, str], json: object | None
) -> tuple[float, list[float], int]:
    """Run `clients` loops for `seconds`; return (requests/s, latencies in seconds, failures).

    Every answer is read and checked to hold a full page of 50 rows; a failed request is
    counted, not timed, and the loop goes on.
    """
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds

    async def loop(http: httpx.AsyncClient) -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if json is None:
                    response = await http.get(url, headers=headers)
                else:
                    response = await http.post(url, headers=headers, json=json)
                response.raise_for_status()
                if page_size(response.json()) != 50:
                    raise RuntimeError("not a full page")
            except (httpx.HTTPError, RuntimeError):
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(loop(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, failures


@dataclass(frozen=True)
class Phase:
    """One endpoint's figures for one page."""

    rate: float
    latencies: list[float]
    server_cpu: float  # seconds per request, the server process
    database_cpu: float  # seconds per request, PostgreSQL's backends
    alone: list[float]  # latencies of a single client
    failures: int


def measure(
    url: str,
    args: argparse.Namespace,
    *,
    server: int,
    postmaster: int,
    headers: dict[str, str],
    json: object | None,
) -> Phase:
    """Warm `url` up, load it with `args.clients` clients, then time one client alone."""
    asyncio.run(hammer(url, args.clients, args.warmup, headers=headers, json=json))
    server_before, database_before = cpu_seconds(server), children_cpu_seconds(postmaster)
    rate, latencies, failures = asyncio.run(
        hammer(url, args.clients, args.seconds, headers=headers, json=json)
    )
    requests = len(latencies) + failures
    server_cpu = (cpu_seconds(server) - server_before) / requests
    database_cpu = (children_cpu_seconds(postmaster) - database_before) / requests
    _, alone, lone_failures = asyncio.run(
        hammer(url, 1, args.alone_seconds, headers=headers, json=json)
    )
    return Phase(rate, latencies, server_cpu, database_cpu, alone, failures + lone_failures)


def line(name: str, phase: Phase) -> str:
    return (
        f"{name:<26} {phase.rate:6.0f} req/s"
        f"   p50 {statistics.median(phase.latencies) * 1000:7.1f} ms"
        f"   p95 {percentile(phase.latencies, 0.95) * 1000:7.1f} ms"
        f"   CPU/req server {phase.server_cpu * 1000:5.1f} ms, PostgreSQL"
        f" {phase.database_cpu * 1000:4.1f} ms"
        f"   one client p50 {statistics.median(phase.alone) * 1000:5.1f} ms"
        f" p95 {percentile(phase.alone, 0.95) * 1000:5.1f} ms"
        + (f"   FAILED REQUESTS: {phase.failures}" if phase.failures else "")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="each loaded phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="before each loaded phase")
    parser.add_argument(
        "--alone-seconds", type=float, default=3.0, help="one client alone, after each phase"
    )
    args = parser.parse_args()

    bare: subprocess.Popen[bytes] | None = None
    with embedded_servers("cwg-") as (pg, redis):
        try:
            org, key = asyncio.run(make_key(pg.url, "bench", "viewer"))
            asyncio.run(seed(pg.url, org, mentions=2000, incidents=100))
            postmaster = int((pg.pgdata / "postmaster.pid").read_text().split()[0])
            gateway_port, bare_port = free_port(), free_port()
            env = {
                "DATABASE_URL": pg.url,
                "REDIS_URL": redis.url,
                "GATEWAY_PORT": str(gateway_port),
                # The load comes from one key of one organization at one address; the
                # budgets would turn it into 429s.
                "RATE_LIMIT_PER_MINUTE": "0",
                "RATE_LIMIT_PER_ORGANIZATION_PER_MINUTE": "0",
                "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
            }
            bare = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "bare_api:app", "--port", str(bare_port),
                 "--log-level", "warning"],
                cwd=ROOT / "bench",
                env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
            with services(env, ["serve", "gateway"]) as (gateway_process,):
                gateway = f"http://127.0.0.1:{gateway_port}"
                wait_http(gateway)
                auth = {"Authorization": f"Bearer {key}"}
                base = f"http://127.0.0.1:{bare_port}"
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    try:
                        httpx.get(f"{base}/mentions/{org}", timeout=2).raise_for_status()
                        break
                    except httpx.HTTPError:
                        time.sleep(0.2)
                print(
                    f"{args.clients} concurrent clients, {args.seconds:g} s each, loopback; "
                    f"one client alone {args.alone_seconds:g} s\n"
                )
                for name, query, path in [
                    ("50 mentions + analysis + author", MENTIONS_QUERY, "mentions"),
                    ("50 incidents + tasks", INCIDENTS_QUERY, "incidents"),
                ]:
                    graph = measure(
                        f"{gateway}/graphql",
                        args,
                        server=gateway_process.pid,
                        postmaster=postmaster,
                        headers=auth,
                        json={"query": query},
                    )
                    plain = measure(
                        f"{base}/{path}/{org}",
                        args,
                        server=bare.pid,
                        postmaster=postmaster,
                        headers={},
                        json=None,
                    )
                    print(name)
                    print(line("  GraphQL gateway", graph))
                    print(line("  bare FastAPI, same rows", plain))
                    print(
                        f"  ratio GraphQL / bare: {graph.rate / plain.rate:.2f} of the rate,"
                        f" {graph.server_cpu / plain.server_cpu:.1f}x the server CPU per request\n"
                    )
        finally:
            if bare is not None:
                bare.terminate()
                bare.wait(30)


if __name__ == "__main__":
    main()
