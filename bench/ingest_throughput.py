"""Ingest throughput over HTTP against a raw insert of the same rows, and time to analysis.

The raw baseline is the cost of putting the rows in PostgreSQL at all: asyncpg
`executemany` of the same mention rows, batches of 1000, into a copy of the table. The
ingest figure is the whole path a partner sees: HTTP, JSON, validation, normalisation,
author upsert, duplicate check, insert, outbox and publish. Both run in the same process
against the same server, so their ratio is what matters, not the absolute numbers.
"""

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from harness import dsn, embedded_servers, free_port, make_key, services, wait_http

from crisiswatch.demo_stream import chatter, crisis
from libs.text import content_hash, normalize

BATCH = 1000


def corpus(total: int) -> list[dict[str, Any]]:
    """Realistic posts: the demo's texts, re-keyed so every item is a new mention."""
    now = datetime.now(UTC)
    templates = chatter("bench", now) + crisis("bench", now)
    posts = []
    for index in range(total):
        post = dict(templates[index % len(templates)])
        post["external_id"] = f"bench-{index}"
        post["repost_of"] = None
        post["posted_at"] = (now - timedelta(seconds=index % 3600)).isoformat()
        posts.append(post)
    return posts


async def raw_baseline(database_url: str, posts: list[dict[str, Any]], org_id: uuid.UUID) -> float:
    """Insert the same rows with bare asyncpg; return rows/s."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS bench_mention (LIKE mention INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS INCLUDING INDEXES)"
        )
        await conn.execute("TRUNCATE bench_mention")
        now = datetime.now(UTC)
        rows = []
        for post in posts:
            text = normalize(post["text"])
            rows.append(
                (
                    uuid.uuid4(),
                    org_id,
                    post["source"],
                    post["external_id"],
                    post["text"],
                    content_hash(text),
                    post.get("url"),
                    datetime.fromisoformat(post["posted_at"]),
                    None,
                    post["metrics"]["reposts"],
                    post["metrics"]["comments"],
                    post["metrics"]["likes"],
                    post["metrics"]["views"],
                    None,
                    now,
                )
            )
        statement = (
            "INSERT INTO bench_mention (id, organization_id, source, external_id, text, "
            "content_hash, url, posted_at, author_id, reposts, comments, likes, "
            "views, repost_of, ingested_at) VALUES "
            "($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)"
        )
        started = time.perf_counter()
        for start in range(0, len(rows), BATCH):
            async with conn.transaction():
                await conn.executemany(statement, rows[start : start + BATCH])
        elapsed = time.perf_counter() - started
        await conn.execute("DROP TABLE bench_mention")
        return len(rows) / elapsed
    finally:
        await conn.close()


async def push(
    url: str, key: str, posts: list[dict[str, Any]], clients: int
) -> tuple[float, list[float]]:
    """POST the posts in batches from concurrent clients; return (mentions/s, latencies)."""
    batches = [posts[i : i + BATCH] for i in range(0, len(posts), BATCH)]
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)
    latencies: list[float] = []

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            while not queue.empty():
                batch = queue.get_nowait()
                started = time.perf_counter()
                response = await http.post(
                    "/v1/mentions",
                    json={"mentions": batch},
                    headers={"Authorization": f"Bearer {key}"},
                )
                latencies.append(time.perf_counter() - started)
                response.raise_for_status()
                assert response.json()["accepted"] == len(batch), response.text[:300]

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(posts) / (time.perf_counter() - started), latencies


async def wait_analysed(database_url: str, total: int, timeout: float = 600) -> float:
    """Return when every mention has its analysis row."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        deadline = time.monotonic() + timeout
        while True:
            done = await conn.fetchval("SELECT count(*) FROM mention_analysis")
            if done >= total:
                return time.monotonic()
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {done} of {total} analysed")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentions", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=4)
    args = parser.parse_args()

    with embedded_servers("cwb-") as (pg, redis):
        org_id, key = asyncio.run(make_key(pg.url))
        posts = corpus(args.mentions)
        raw = asyncio.run(raw_baseline(pg.url, posts, org_id))

        port = free_port()
        env = {"DATABASE_URL": pg.url, "REDIS_URL": redis.url, "INGEST_PORT": str(port)}
        with services(env, ["serve", "ingest"], ["worker", "analysis"]):
            url = f"http://127.0.0.1:{port}"
            wait_http(url)
            started = time.monotonic()
            rate, latencies = asyncio.run(push(url, key, posts, args.clients))
            analysed_at = asyncio.run(wait_analysed(pg.url, len(posts)))
        analysed_rate = len(posts) / (analysed_at - started)

        latencies.sort()
        p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
        p50 = statistics.median(latencies)
        print(
            f"mentions                   {len(posts)} (batches of {BATCH}, {args.clients} clients)"
        )
        print(f"raw asyncpg executemany    {raw:,.0f} rows/s")
        print(f"ingest over HTTP           {rate:,.0f} mentions/s ({rate / raw:.2f} of raw)")
        print(f"  batch latency p50 / p95  {p50 * 1000:.0f} / {p95 * 1000:.0f} ms")
        print(f"ingested and analysed      {analysed_rate:,.0f} mentions/s end to end (1 worker)")


if __name__ == "__main__":
    main()
