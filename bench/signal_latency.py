"""Latency from ingest accepted to analysis stored and to risk signal stored, under load.

A load generator pushes realistic posts at a fixed rate (500 mentions/s by default) for a
fixed time through `POST /v1/mentions`, spread over several organizations, each a client
sending a small batch every 200 ms. Into that stream it injects crisis bursts, each aimed
at its own quiet watchlist, so every burst must raise a signal. A poller reads PostgreSQL
every 50 ms and records when each accepted mention's analysis, and each burst's signal,
became visible (committed): latency is that moment minus the moment the HTTP answer
arrived, so the figures include queueing, analysis, the tier decision and the commit.
"""

import argparse
import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from harness import (
    BURST,
    Org,
    burst_posts,
    chatter_post,
    dsn,
    embedded_servers,
    free_port,
    percentile,
    realistic_texts,
    services,
    setup_orgs,
    wait_http,
)

from crisiswatch.demo_stream import crisis

ORGS = 10
POLL = 0.05


@dataclass
class Book:
    """What the generator sent and when it was accepted; what the poller saw and when."""

    accepted: dict[str, float] = field(default_factory=dict)
    analysed: dict[str, float] = field(default_factory=dict)
    burst_accepted: dict[str, float] = field(default_factory=dict)
    signal_seen: dict[str, float] = field(default_factory=dict)


async def client(
    url: str,
    org: Org,
    rate: float,
    seconds: float,
    tick: float,
    book: Book,
    complaints: list[str],
) -> None:
    """Send `rate` mentions/s for `seconds` in batches every `tick` s, bursts spread evenly."""
    texts = realistic_texts()
    per_tick = max(1, round(rate * tick))
    ticks = int(seconds / tick)
    burst_ticks = {
        int((i + 0.5) * ticks / len(org.bursts)): tag for i, tag in enumerate(org.bursts)
    }
    sent = 0
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        for number in range(ticks):
            batch = [chatter_post(org, texts, sent + i) for i in range(per_tick)]
            sent += per_tick
            tag = burst_ticks.get(number)
            if tag is not None:
                batch = burst_posts(org, tag, complaints) + batch[BURST:]
            response = await http.post(
                "/v1/mentions",
                json={"mentions": batch},
                headers={"Authorization": f"Bearer {org.key}"},
            )
            at = time.time()
            response.raise_for_status()
            for item in response.json()["results"]:
                if item["status"] == "accepted":
                    book.accepted[item["id"]] = at
            if tag is not None:
                book.burst_accepted[f"{org.id}:{tag}"] = at
            delay = started + (number + 1) * tick - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)


async def poller(database_url: str, book: Book, stop: asyncio.Event) -> None:
    """Record when analyses and signals become visible, every POLL seconds."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        while True:
            pending = [i for i in book.accepted if i not in book.analysed]
            if pending:
                rows = await conn.fetch(
                    "SELECT mention_id FROM mention_analysis WHERE mention_id = ANY($1::uuid[])",
                    pending,
                )
                seen = time.time()
                for row in rows:
                    book.analysed[str(row["mention_id"])] = seen
            signals = await conn.fetch(
                "SELECT w.organization_id, w.name FROM risk_signal s "
                "JOIN watchlist w ON w.id = s.watchlist_id WHERE s.tier <> 'none'"
            )
            seen = time.time()
            for row in signals:
                book.signal_seen.setdefault(f"{row['organization_id']}:{row['name']}", seen)
            if stop.is_set() and not pending:
                return
            await asyncio.sleep(POLL)
    finally:
        await conn.close()


async def run(
    url: str, database_url: str, orgs: list[Org], rate: float, seconds: float, tick: float
) -> Book:
    """Drive the load and the poller; wait (up to a minute) for the tail to be analysed."""
    book = Book()
    stop = asyncio.Event()
    complaints = [p["text"] for p in crisis("bench", datetime.now(UTC))]
    watcher = asyncio.create_task(poller(database_url, book, stop))
    await asyncio.gather(
        *(client(url, org, rate / len(orgs), seconds, tick, book, complaints) for org in orgs)
    )
    stop.set()
    try:
        await asyncio.wait_for(watcher, timeout=120)
    except TimeoutError:
        missing = len(book.accepted) - len(book.analysed)
        print(f"{missing} accepted mentions were still unanalysed two minutes after the load")
    return book


def report(book: Book, args: argparse.Namespace, orgs: int) -> None:
    """Print the figures."""
    rate, seconds, workers = args.rate, args.seconds, args.workers
    latencies = [book.analysed[i] - at for i, at in book.accepted.items() if i in book.analysed]
    signal = [
        book.signal_seen[key] - at
        for key, at in book.burst_accepted.items()
        if key in book.signal_seen
    ]
    print(
        f"load                        {rate:.0f} mentions/s for {seconds:.0f} s, "
        f"{ORGS} organizations, {workers} analysis worker(s)"
    )
    print(f"accepted                    {len(book.accepted)} mentions")
    print(f"analysed                    {len(latencies)} mentions")
    print(
        f"accepted -> analysis stored p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    print(f"bursts                      {len(book.burst_accepted)}, signals seen {len(signal)}")
    if signal:
        print(
            f"accepted -> signal stored   p50 {percentile(signal, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(signal, 0.95) * 1000:.0f} ms, max {max(signal) * 1000:.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0, help="mentions per second")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument(
        "--tick", type=float, default=0.5, help="seconds between a client's batches"
    )
    parser.add_argument("--workers", type=int, default=1, help="analysis worker processes")
    parser.add_argument("--bursts", type=int, default=2, help="crisis bursts per organization")
    parser.add_argument("--logs", type=Path, help="keep the services' output in this folder")
    args = parser.parse_args()

    with embedded_servers("cwl-") as (pg, redis):
        orgs = asyncio.run(setup_orgs(pg.url, ORGS, args.bursts))
        port = free_port()
        env = {"DATABASE_URL": pg.url, "REDIS_URL": redis.url, "INGEST_PORT": str(port)}
        commands = [["serve", "ingest"]] + [["worker", "analysis"]] * args.workers
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
        with services(env, *commands, logs=args.logs):
            url = f"http://127.0.0.1:{port}"
            wait_http(url)
            time.sleep(3)  # the workers load their dictionary and model
            book = asyncio.run(run(url, pg.url, orgs, args.rate, args.seconds, args.tick))
        report(book, args, ORGS)


if __name__ == "__main__":
    main()
