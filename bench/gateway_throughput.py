"""GraphQL pages against a bare FastAPI endpoint returning the same rows, same run.

Two pages a war-room console loads constantly: 50 mentions with their analysis and author,
and 50 incidents with their tasks. 50 concurrent clients on loopback hit the gateway
(`crisiswatch serve gateway`, one process) and then the bare endpoint (`bare_api.py`, one
uvicorn process) for the same time; both read the same embedded PostgreSQL. Printed:
requests/s and latency p50/p95 for each, and the ratio.
"""

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from harness import ROOT, free_port, make_key, percentile, realistic_texts, services, wait_http

from crisiswatch.embedded import start_postgres, start_redis
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade
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


async def hammer(
    url: str, clients: int, seconds: float, *, headers: dict[str, str], json: object | None
) -> tuple[float, list[float]]:
    """Run `clients` loops for `seconds`; return (requests/s, latencies in seconds)."""
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def loop(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if json is None:
                response = await http.get(url, headers=headers)
            else:
                response = await http.post(url, headers=headers, json=json)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(loop(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies


def line(name: str, rate: float, latencies: list[float]) -> str:
    return (
        f"{name:<34} {rate:8.0f} req/s   p50 {statistics.median(latencies) * 1000:6.1f} ms"
        f"   p95 {percentile(latencies, 0.95) * 1000:6.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="cwg-", dir="/tmp"))
    pg = start_postgres(root / "pg")
    redis = start_redis(root / "redis", persistent=False)
    bare: subprocess.Popen[bytes] | None = None
    try:
        upgrade(pg.url)
        org, key = asyncio.run(make_key(pg.url, "bench", "viewer"))
        asyncio.run(seed(pg.url, org, mentions=2000, incidents=100))
        gateway_port, bare_port = free_port(), free_port()
        env = {
            "DATABASE_URL": pg.url,
            "REDIS_URL": redis.url,
            "GATEWAY_PORT": str(gateway_port),
            # The load comes from one key; the per-key budget would turn it into 429s.
            "RATE_LIMIT_PER_MINUTE": "0",
        }
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_api:app", "--port", str(bare_port),
             "--log-level", "warning"],
            cwd=ROOT / "bench",
            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        )  # fmt: skip
        with services(env, ["serve", "gateway"]):
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
            print(f"{args.clients} concurrent clients, {args.seconds:g} s each, loopback\n")
            for name, query, path in [
                ("50 mentions + analysis + author", MENTIONS_QUERY, "mentions"),
                ("50 incidents + tasks", INCIDENTS_QUERY, "incidents"),
            ]:
                graph = asyncio.run(
                    hammer(
                        f"{gateway}/graphql",
                        args.clients,
                        args.seconds,
                        headers=auth,
                        json={"query": query},
                    )
                )
                plain = asyncio.run(
                    hammer(
                        f"{base}/{path}/{org}", args.clients, args.seconds, headers={}, json=None
                    )
                )
                print(name)
                print(line("  GraphQL gateway", *graph))
                print(line("  bare FastAPI, same rows", *plain))
                print(f"  ratio GraphQL / bare: {graph[0] / plain[0]:.2f}\n")
    finally:
        if bare is not None:
            bare.terminate()
            bare.wait(30)
        redis.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
