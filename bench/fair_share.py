"""One organization floods while another's crisis arrives: its signal latency, FIFO vs fair.

Organization A pushes 50,000 mentions through `POST /v1/mentions` as fast as ingest takes
them (batches of 1000 from several clients); once half of them are accepted, organization B
pushes one crisis burst aimed at its own quiet watchlist. A poller reads PostgreSQL every
50 ms for B's risk signal and for the end of A's analysis. B's signal latency is the moment
its signal became visible (committed) minus the moment its push was accepted, so it holds
queueing, analysis, the tier decision and the commit.

The load runs twice on the same servers with fresh organizations: with `FAIR_SCHEDULING=false`
(the queue first in, first out: B's batch waits behind every batch A queued before it) and
with fair scheduling on (`libs.messaging.fairness`: B's batch starts at the head of the
queue). It prints both latencies and their ratio, and how long A's own flood took to be
analysed each time, which fairness must not lengthen.
"""

import argparse
import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from harness import (
    Org,
    burst_posts,
    chatter_post,
    dsn,
    embedded_servers,
    free_port,
    realistic_texts,
    services,
    setup_orgs,
    wait_http,
)

from crisiswatch.demo_stream import crisis

POLL = 0.05
BATCH = 1000


@dataclass
class Run:
    """What one run measured: B's push and signal, A's flood accepted and analysed."""

    mode: str
    burst_accepted: float = 0.0
    signal_seen: float = 0.0
    flood_started: float = 0.0
    flood_accepted: float = 0.0
    flood_analysed: float = 0.0

    @property
    def signal_latency(self) -> float:
        return self.signal_seen - self.burst_accepted

    @property
    def flood_drained(self) -> float:
        return self.flood_analysed - self.flood_started


async def flood(url: str, org: Org, mentions: int, clients: int, half: asyncio.Event) -> None:
    """Push `mentions` of A's chatter in batches of BATCH from `clients` clients at once."""
    texts = realistic_texts()
    batches = asyncio.Queue[int]()
    for start in range(0, mentions, BATCH):
        batches.put_nowait(start)
    accepted = 0

    async def client() -> None:
        nonlocal accepted
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            while not batches.empty():
                start = batches.get_nowait()
                items = [
                    chatter_post(org, texts, n, "f")
                    for n in range(start, min(start + BATCH, mentions))
                ]
                answer = await http.post(
                    "/v1/mentions",
                    json={"mentions": items},
                    headers={"Authorization": f"Bearer {org.key}"},
                )
                answer.raise_for_status()
                accepted += answer.json()["accepted"]
                if accepted >= mentions // 2:
                    half.set()

    await asyncio.gather(*(client() for _ in range(clients)))


async def crisis_burst(url: str, org: Org, half: asyncio.Event, run: Run) -> None:
    """Once half of A's flood is accepted, push B's crisis burst and note when it was taken."""
    await half.wait()
    complaints = [p["text"] for p in crisis("bench", datetime.now(UTC))]
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        answer = await http.post(
            "/v1/mentions",
            json={"mentions": burst_posts(org, org.bursts[0], complaints)},
            headers={"Authorization": f"Bearer {org.key}"},
        )
        run.burst_accepted = time.time()
        answer.raise_for_status()


async def poll(database_url: str, flooding: Org, quiet: Org, mentions: int, run: Run) -> None:
    """Note when B's signal and the last of A's analyses become visible."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        while not (run.signal_seen and run.flood_analysed):
            if not run.signal_seen and await conn.fetchval(
                "SELECT count(*) FROM risk_signal s JOIN watchlist w ON w.id = s.watchlist_id "
                "WHERE w.organization_id = $1 AND w.name = $2 AND s.tier <> 'none'",
                quiet.id,
                quiet.bursts[0],
            ):
                run.signal_seen = time.time()
            if not run.flood_analysed and (
                await conn.fetchval(
                    "SELECT count(*) FROM mention_analysis WHERE organization_id = $1",
                    flooding.id,
                )
                >= mentions
            ):
                run.flood_analysed = time.time()
            await asyncio.sleep(POLL)
    finally:
        await conn.close()


async def drive(
    url: str, database_url: str, flooding: Org, quiet: Org, args: argparse.Namespace, run: Run
) -> None:
    """Run the flood, the burst and the poller; give up after `--timeout` seconds."""
    half = asyncio.Event()
    run.flood_started = time.time()
    watcher = asyncio.create_task(poll(database_url, flooding, quiet, args.mentions, run))
    await asyncio.gather(
        flood(url, flooding, args.mentions, args.clients, half),
        crisis_burst(url, quiet, half, run),
    )
    run.flood_accepted = time.time()
    await asyncio.wait_for(watcher, timeout=args.timeout)


def measure(mode: str, pg_url: str, redis_url: str, args: argparse.Namespace) -> Run:
    """Start ingest and the analysis workers with fair scheduling on or off; run the load."""
    flooding, quiet = asyncio.run(setup_orgs(pg_url, 2, 1, prefix=mode))
    port = free_port()
    env = {
        "DATABASE_URL": pg_url,
        "REDIS_URL": redis_url,
        "INGEST_PORT": str(port),
        "FAIR_SCHEDULING": "true" if mode == "fair" else "false",
        # The flood is the point: no quota may cut it short.
        "QUOTA_MENTIONS_PER_ORGANIZATION_PER_MINUTE": "0",
    }
    commands = [["serve", "ingest"]] + [["worker", "analysis"]] * args.workers
    logs = args.logs / mode if args.logs is not None else None
    if logs is not None:
        logs.mkdir(parents=True, exist_ok=True)
    run = Run(mode)
    with services(env, *commands, logs=logs):
        url = f"http://127.0.0.1:{port}"
        wait_http(url)
        time.sleep(3)  # the workers load their dictionary and model
        asyncio.run(drive(url, pg_url, flooding, quiet, args, run))
    return run


def report(runs: list[Run], args: argparse.Namespace) -> None:
    """Print each run's figures, then B's latency first in first out against fair."""
    print(
        f"load                          A floods {args.mentions} mentions "
        f"({args.clients} clients, batches of {BATCH}); B's burst of 25 once half is accepted; "
        f"{args.workers} analysis worker(s)"
    )
    for run in runs:
        print(
            f"{run.mode:<5} B accepted -> signal     {run.signal_latency:7.2f} s   "
            f"A pushed in {run.flood_accepted - run.flood_started:5.1f} s, "
            f"analysed in {run.flood_drained:5.1f} s"
        )
    fifo, fair = runs
    print(
        f"B's signal latency, fifo / fair  {fifo.signal_latency / fair.signal_latency:.1f}x "
        f"({fifo.signal_latency:.2f} s -> {fair.signal_latency:.2f} s)"
    )
    print(f"A's flood analysed, fair / fifo  {fair.flood_drained / fifo.flood_drained:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mentions", type=int, default=50_000, help="mentions A floods")
    parser.add_argument("--clients", type=int, default=4, help="A's concurrent clients")
    parser.add_argument("--workers", type=int, default=1, help="analysis worker processes")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait per run")
    parser.add_argument("--logs", type=Path, help="keep the services' output in this folder")
    args = parser.parse_args()

    with embedded_servers("cwf-") as (pg, redis):
        runs = [measure(mode, pg.url, redis.url, args) for mode in ("fifo", "fair")]
    report(runs, args)


if __name__ == "__main__":
    main()
