"""The console and the live path at 10 M mentions: read latency, storage, ingest → signal.

1. Loads `--mentions` realistic mentions over `--days` into a dedicated database
   (`crisiswatch_scale` on DATABASE_URL's server, or on an embedded server when none is
   given), migrated as production is, by COPY (`scale_data.py`). `--reuse` keeps a database
   an earlier run loaded with the same size and days.
2. Rebuilds the rollups from the loaded rows (`rebuild_rollups`), as after any bulk load.
3. Prints the storage per mention, table by table (heap, indexes and TOAST).
4. Starts the gateway on that database and times every console read through GraphQL, one
   request at a time (`scale_reads.py`): p50/p95 against the 200 ms aim.
5. Starts ingest and an analysis worker on it and times the live path: a crisis burst
   posted through ingest, amid background chatter, until its risk signal is stored, after
   `--warmup` seconds of chatter alone; then the same on an empty database in the same
   run, for the ratio: `--rounds` runs of each, taking turns, their bursts pooled.
   Chatter stays in a watchlist's window for 15 minutes: on a reused load, leave
   that long between invocations, or the next one starts with a busier window.

    .venv/bin/python bench/scale.py --mentions 200000 --days 30
    .venv/bin/python bench/scale.py --reuse          # 10 M, loaded once, measured again

Figures: docs/scale.md.
"""

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from harness import (
    Org,
    burst_posts,
    chatter_post,
    dsn,
    free_port,
    make_key,
    percentile,
    realistic_texts,
    services,
    wait_http,
)
from prometheus_client.parser import text_string_to_metric_families
from scale_data import Loaded, create_watchlists, load
from scale_reads import AIM_MS, Console, Timing, console_reads, print_reads
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crisiswatch.demo_stream import crisis
from crisiswatch.embedded import start_postgres, start_redis
from libs.contracts.messages import CreateWatchlist
from libs.database import rollups
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade
from services.analysis.configuration import create_watchlist

SIGNAL_TIMEOUT = 90.0
TEXT_HIT, TEXT_MISS = "奶粉", "并不存在的词组"


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server."""
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn(url))
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _marker(url: str) -> dict[str, Any] | None:
    """What an earlier complete load recorded on the database, or None."""
    try:
        conn = await asyncpg.connect(dsn(url))
    except (asyncpg.InvalidCatalogNameError, OSError):
        return None
    try:
        comment = await conn.fetchval(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
    finally:
        await conn.close()
    if not comment:
        return None
    found: dict[str, Any] = json.loads(comment)
    return found


@contextmanager
def server(database_url: str | None, name: str) -> Iterator[str]:
    """Yield the admin URL of DATABASE_URL's server, or of an embedded one for the run."""
    if database_url:
        yield database_url
        return
    root = Path(tempfile.mkdtemp(prefix="cws-", dir="/tmp"))
    pg = start_postgres(root / "pg", database=name)
    try:
        yield pg.admin_url
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


async def prepare(
    admin_url: str, name: str, *, reuse: bool, mentions: int, days: float
) -> tuple[str, dict[str, Any] | None]:
    """Return the scale database's URL and the marker of a load to reuse, if any."""
    url = with_database(admin_url, name)
    marker = await _marker(url) if reuse else None
    if marker and marker.get("mentions") == mentions and marker.get("days") == days:
        # Migrations added since the load apply to it as they would in production.
        await asyncio.to_thread(upgrade, url)
        return url, marker
    await _admin(
        admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'
    )
    await asyncio.to_thread(upgrade, url)
    return url, None


async def fill(url: str, name: str, mentions: int, days: float) -> Loaded:
    """Create the organization and its watchlists, load, and record the load on the database."""
    organization_id, _ = await make_key(url, "scale", "admin")
    watchlists = await create_watchlists(url, organization_id, datetime.now(UTC))
    loaded = await load(url, organization_id, watchlists, mentions, days)
    marker = {"mentions": mentions, "days": days, "rows": loaded.rows, "seconds": loaded.seconds}
    await _admin(url, f"COMMENT ON DATABASE \"{name}\" IS '{json.dumps(marker)}'")
    return loaded


async def rebuild_rollups(url: str) -> str:
    """Recount the rollups from the raw tables, as `crisiswatch rollups rebuild` does.

    Analysis keeps the rollups as it writes; a bulk load bypasses analysis, so they are
    rebuilt once here, for every organization over the days its mentions span, before the
    reads (`libs.database.rollups.rebuild`).
    """
    engine = create_engine(url, pool_size=2)
    sessions = session_factory(engine)
    started = time.monotonic()
    try:
        async with sessions() as session:
            spans = (
                await session.exec(
                    text(  # type: ignore[call-overload]
                        "SELECT organization_id, min(posted_at), max(posted_at) FROM mention "
                        "GROUP BY organization_id"
                    )
                )
            ).all()
        for organization_id, first, last in spans:
            async with sessions() as session:
                await rollups.rebuild(session, organization_id, first, last + timedelta(days=1))
                await session.commit()
        async with sessions() as session:
            await rollups.analyze(session)
            await session.commit()
        return f"rollups rebuilt in {time.monotonic() - started:.1f} s"
    finally:
        await engine.dispose()


async def storage(url: str) -> tuple[int, list[tuple[str, int, int, int]]]:
    """Mentions, and each table's (name, total bytes, heap bytes, index bytes), largest first."""
    conn = await asyncpg.connect(dsn(url))
    try:
        mentions = int(await conn.fetchval("SELECT count(*) FROM mention"))
        rows = await conn.fetch(
            "SELECT c.relname, pg_total_relation_size(c.oid), pg_relation_size(c.oid), "
            "pg_indexes_size(c.oid) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' "
            "ORDER BY 2 DESC"
        )
    finally:
        await conn.close()
    return mentions, [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in rows]


def print_storage(mentions: int, tables: list[tuple[str, int, int, int]]) -> float:
    """Print bytes per mention per table; return the total per mention."""
    total = sum(t[1] for t in tables)
    per = total / max(mentions, 1)
    print(f"  {'table':<22} {'MB':>9} {'B/mention':>10} {'heap':>8} {'indexes':>8}")
    for name, size, heap, indexes in tables:
        if size >= 1 << 20:
            m = max(mentions, 1)
            mb = size / 2**20
            print(f"  {name:<22} {mb:9.1f} {size / m:10.0f} {heap / m:8.0f} {indexes / m:8.0f}")
    print(f"  {'all tables':<22} {total / 2**20:9.1f} {per:10.0f}   ({mentions:,} mentions)")
    return per


async def _burst_watchlists(
    url: str, organization_id: uuid.UUID, tags: list[str]
) -> dict[str, uuid.UUID]:
    engine = create_engine(url, pool_size=1)
    made = {}
    try:
        for tag in tags:
            async with transaction(session_factory(engine)) as session:
                result = await create_watchlist(
                    session,
                    CreateWatchlist(
                        organization_id=organization_id,
                        actor="bench",
                        name=tag,
                        query=f"{tag} & (异物 | 拉肚子 | 维权 | 曝光 | 变质)",
                    ),
                    now=datetime.now(UTC),
                )
                assert result.ok, result
                made[tag] = uuid.UUID(str(result.data["id"]))
    finally:
        await engine.dispose()
    return made


@dataclass
class Live:
    """One live-path run: seconds from each burst accepted to its signal stored, and the
    analysis worker's mean milliseconds per message in each pipeline stage meanwhile."""

    latencies: list[float]
    stages: dict[str, float]


def _stage_totals(metrics: str) -> dict[str, tuple[float, float]]:
    """Seconds summed and messages counted per stage, from a worker's `/metrics` text."""
    totals: dict[str, tuple[float, float]] = {}
    for family in text_string_to_metric_families(metrics):
        if family.name != "crisiswatch_analysis_stage_seconds":
            continue
        for sample in family.samples:
            stage = sample.labels["stage"]
            spent, count = totals.get(stage, (0.0, 0.0))
            if sample.name.endswith("_sum"):
                spent = sample.value
            elif sample.name.endswith("_count"):
                count = sample.value
            totals[stage] = (spent, count)
    return totals


def _stage_means(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, float]:
    """Mean milliseconds per message of each stage between two scrapes."""
    means = {}
    for stage, (spent, count) in after.items():
        spent_before, count_before = before.get(stage, (0.0, 0.0))
        if count > count_before:
            means[stage] = round((spent - spent_before) / (count - count_before) * 1000, 1)
    return means


async def _drive(
    ingest: str,
    url: str,
    org: Org,
    watchlists: dict[str, uuid.UUID],
    warmup: float,
    metrics: str,
) -> Live:
    """Background chatter, `warmup` seconds of it alone, then each burst in turn; seconds
    from accepted to signal stored, and the stages' means over the bursts' part."""
    import httpx

    texts = realistic_texts()
    complaints = [p["text"] for p in crisis("bench", datetime.now(UTC))]
    stop = asyncio.Event()
    headers = {"Authorization": f"Bearer {org.key}"}

    async def chatter(http: httpx.AsyncClient) -> None:
        sent = 0
        while not stop.is_set():
            batch = [chatter_post(org, texts, sent + i) for i in range(20)]
            for i, post in enumerate(batch):
                if (sent + i) % 3 == 2:  # a third are reposts, as in the loaded history
                    post["repost_of"] = f"{org.slug}-c{sent + i - 2}"
            sent += 20
            (
                await http.post("/v1/mentions", json={"mentions": batch}, headers=headers)
            ).raise_for_status()
            await asyncio.sleep(0.5)

    latencies = []
    conn = await asyncpg.connect(dsn(url))
    async with httpx.AsyncClient(base_url=ingest, timeout=30) as http:
        background = asyncio.create_task(chatter(http))
        try:
            await asyncio.sleep(warmup)
            before = _stage_totals((await http.get(metrics)).text)
            for tag, watchlist_id in watchlists.items():
                answer = await http.post(
                    "/v1/mentions",
                    json={"mentions": burst_posts(org, tag, complaints)},
                    headers=headers,
                )
                accepted = time.monotonic()
                answer.raise_for_status()
                deadline = accepted + SIGNAL_TIMEOUT
                while time.monotonic() < deadline:
                    if await conn.fetchval(
                        "SELECT 1 FROM risk_signal WHERE watchlist_id = $1 AND tier IS NOT NULL "
                        "AND tier <> 'none' LIMIT 1",
                        watchlist_id,
                    ):
                        latencies.append(time.monotonic() - accepted)
                        break
                    await asyncio.sleep(0.02)
                else:
                    print(f"  no signal for {tag} within {SIGNAL_TIMEOUT:.0f} s")
                await asyncio.sleep(2)
            stages = _stage_means(before, _stage_totals((await http.get(metrics)).text))
        finally:
            stop.set()
            await background
            await conn.close()
    return Live(latencies, stages)


def live_path(url: str, label: str, bursts: int, logs: Path | None, warmup: float = 3.0) -> Live:
    """Start ingest and an analysis worker on `url`; time `bursts` crisis bursts to signal,
    after `warmup` seconds of chatter."""
    organization_id, key = asyncio.run(make_key(url, "scale", "ingest"))
    run = uuid.uuid4().hex[:6]
    org = Org(f"live{run}", organization_id, key, [f"突发{run}x{n}" for n in range(bursts)])
    watchlists = asyncio.run(_burst_watchlists(url, organization_id, org.bursts))
    root = Path(tempfile.mkdtemp(prefix="cwsr-", dir="/tmp"))
    redis = start_redis(root / "redis", persistent=False)
    port, metrics_port = free_port(), free_port()
    env = {"DATABASE_URL": url, "REDIS_URL": redis.url, "INGEST_PORT": str(port),
           "METRICS_PORT": str(metrics_port), "RATE_LIMIT_PER_MINUTE": "0"}  # fmt: skip
    try:
        with services(env, ["serve", "ingest"], ["worker", "analysis"], logs=_logs(logs, label)):
            wait_http(f"http://127.0.0.1:{port}")
            time.sleep(3)  # the worker loads its dictionary and model
            return asyncio.run(
                _drive(
                    f"http://127.0.0.1:{port}",
                    url,
                    org,
                    watchlists,
                    warmup,
                    f"http://127.0.0.1:{metrics_port}/metrics",
                )
            )
    finally:
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


def time_reads(url: str, repeat: int, logs: Path | None) -> list[Timing]:
    """Start the gateway on `url` and time every console read."""
    _, key = asyncio.run(make_key(url, "scale", "admin"))
    root = Path(tempfile.mkdtemp(prefix="cwsg-", dir="/tmp"))
    redis = start_redis(root / "redis", persistent=False)
    port = free_port()
    env = {
        "DATABASE_URL": url, "REDIS_URL": redis.url, "GATEWAY_PORT": str(port),
        "RATE_LIMIT_PER_MINUTE": "0", "GRAPHQL_COST_PER_MINUTE": "0",
    }  # fmt: skip
    try:
        with services(env, ["serve", "gateway"], logs=_logs(logs, "gateway")):
            gateway = f"http://127.0.0.1:{port}"
            wait_http(gateway)
            console = Console(gateway, key)
            try:
                return console_reads(console, repeat, hit=TEXT_HIT, miss=TEXT_MISS)
            finally:
                console.close()
    finally:
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


def _logs(logs: Path | None, label: str) -> Path | None:
    """The folder for one phase's service logs, created, or None when logs are not kept."""
    if logs is None:
        return None
    (logs / label).mkdir(parents=True, exist_ok=True)
    return logs / label


def _ms(values: list[float], share: float) -> float | None:
    return round(percentile(values, share) * 1000, 1) if values else None


def _side(runs: list[Live]) -> dict[str, Any]:
    """One database's live-path figures over all its rounds."""
    latencies = [v for run in runs for v in run.latencies]
    stages: dict[str, list[float]] = {}
    for run in runs:
        for stage, ms in run.stages.items():
            stages.setdefault(stage, []).append(ms)
    return {
        "p50_ms": _ms(latencies, 0.5),
        "p95_ms": _ms(latencies, 0.95),
        "signals": len(latencies),
        "rounds": [
            {"p50_ms": _ms(r.latencies, 0.5), "p95_ms": _ms(r.latencies, 0.95)} for r in runs
        ],
        "stages_ms": {k: round(sum(v) / len(v), 1) for k, v in stages.items()},
        "latencies_ms": [round(v * 1000) for v in latencies],
    }


def compare_live(
    admin_url: str,
    url: str,
    empty: str,
    mentions: int,
    bursts: int,
    warmup: float,
    rounds: int,
    logs: Path | None,
) -> dict[str, Any]:
    """Time the live path on the loaded database and on an empty one, `rounds` times each.

    One run of each is not enough to call a difference: the empty database's p50 ranged from
    107 to 169 ms between single runs on the same machine. So the two take turns (loaded,
    empty, loaded, empty, ...), each keeping its state between rounds: each database's next
    round starts one run after its last ended, with that run's chatter still in its
    watchlists' windows (15 minutes) alike. The verdict pools each side's bursts; the stage
    figures are the mean of the rounds' means.
    """
    asyncio.run(
        _admin(
            admin_url,
            f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)',
            f'CREATE DATABASE "{empty}"',
        )
    )
    empty_url = with_database(admin_url, empty)
    upgrade(empty_url)
    asyncio.run(
        create_watchlists(
            empty_url, asyncio.run(make_key(empty_url, "scale", "admin"))[0], datetime.now(UTC)
        )
    )
    print(
        f"live path: crisis burst accepted -> risk signal stored, {bursts} bursts after"
        f" {warmup:.0f} s of chatter, {rounds} rounds"
    )
    runs: dict[str, list[Live]] = {"loaded": [], "empty": []}
    targets = {"loaded": url, "empty": empty_url}
    for n in range(rounds):
        for side in ("loaded", "empty"):
            run = live_path(targets[side], f"{side}{n + 1}", bursts, logs, warmup)
            runs[side].append(run)
            print(
                f"  round {n + 1} {side:<7} p50 {_ms(run.latencies, 0.5)} ms,"
                f" p95 {_ms(run.latencies, 0.95)} ms ({len(run.latencies)} signals)"
            )
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{empty}" WITH (FORCE)'))
    figures = {side: _side(side_runs) for side, side_runs in runs.items()}
    for label, side in (("empty database", "empty"), (f"{mentions:,} mentions", "loaded")):
        f = figures[side]
        print(f"  {label:<22} p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms ({f['signals']} signals)")
    print("  analysis stages, mean ms per message while the bursts ran: empty / loaded")
    empty_stages, loaded_stages = figures["empty"]["stages_ms"], figures["loaded"]["stages_ms"]
    for stage in dict.fromkeys([*empty_stages, *loaded_stages]):
        print(
            f"    {stage:<18} {empty_stages.get(stage, '-'):>7} {loaded_stages.get(stage, '-'):>7}"
        )
    ratios = {}
    for share in ("p50", "p95"):
        loaded_ms, empty_ms = figures["loaded"][f"{share}_ms"], figures["empty"][f"{share}_ms"]
        ratios[share] = round(loaded_ms / empty_ms, 2) if loaded_ms and empty_ms else None
    if all(ratios.values()):
        print(f"  loaded / empty, all rounds: p50 {ratios['p50']:.2f}, p95 {ratios['p95']:.2f}")
    else:
        print("  no ratio: signals missing")
    return {
        **figures,
        "p50_ratio": ratios["p50"],
        "p95_ratio": ratios["p95"],
        "bursts": bursts,
        "warmup_s": warmup,
        "rounds": rounds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mentions", type=int, default=10_000_000)
    parser.add_argument("--days", type=float, default=120.0)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="a server to create the database on (default: DATABASE_URL, "
                             "else an embedded server for the run)")  # fmt: skip
    parser.add_argument("--database", default="crisiswatch_scale")
    parser.add_argument("--reuse", action="store_true", help="keep an earlier load of this size")
    parser.add_argument("--rebuild", action="store_true", help="rebuild a reused load's rollups")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per read")
    parser.add_argument("--bursts", type=int, default=12, help="crisis bursts per live-path run")
    parser.add_argument(
        "--warmup",
        type=float,
        default=180.0,
        help="seconds of chatter before the first timed burst, on each database",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="live-path runs per database, taking turns",
    )
    parser.add_argument("--no-live", action="store_true", help="skip the live path")
    parser.add_argument("--no-reads", action="store_true", help="skip the console reads")
    parser.add_argument("--logs", type=Path, help="keep the services' output here")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    args = parser.parse_args()
    if args.logs is not None:
        args.logs.mkdir(parents=True, exist_ok=True)

    figures: dict[str, Any] = {"mentions_asked": args.mentions, "days": args.days}
    with server(args.database_url, args.database) as admin_url:
        url, marker = asyncio.run(
            prepare(
                admin_url, args.database, reuse=args.reuse, mentions=args.mentions, days=args.days
            )
        )
        if marker is None:
            print(
                f"loading {args.mentions:,} mentions over {args.days:g} days into {args.database}"
            )
            loaded = asyncio.run(fill(url, args.database, args.mentions, args.days))
            figures["load"] = {"rows": loaded.rows, "seconds": round(loaded.seconds, 1)}
            print(f"  loaded in {loaded.seconds:,.0f} s: {loaded.rows}")
        else:
            figures["load"] = {"rows": marker["rows"], "seconds": marker["seconds"], "reused": True}
            print(f"reusing {args.database}: {marker['rows']}")
        if marker is None or args.rebuild:
            # A bulk load counts nothing in the rollups until they are rebuilt; a reused
            # database kept the rollups its load built.
            rollups = asyncio.run(rebuild_rollups(url))
            figures["rollups"] = rollups
            print(f"rollups: {rollups}")

        print("storage")
        mentions, tables = asyncio.run(storage(url))
        figures["storage"] = {
            "mentions": mentions,
            "bytes_per_mention": round(print_storage(mentions, tables)),
            "tables": {
                name: {"bytes": size, "heap": heap, "indexes": ix}
                for name, size, heap, ix in tables
            },
        }

        if not args.no_reads:
            print(f"console reads, one client, {args.repeat} timed requests each")
            timings = time_reads(url, args.repeat, args.logs)
            print_reads(timings)
            figures["reads"] = {
                t.name: {
                    "p50_ms": t.p(0.5),
                    "p95_ms": t.p(0.95),
                    "failures": t.failures,
                    "error": t.error,
                }
                for t in timings
            }
            figures["reads_over_aim"] = [
                t.name for t in timings if t.failures or (t.p(0.95) or 0) >= AIM_MS
            ]

        if not args.no_live:
            figures["live"] = compare_live(
                admin_url, url, f"{args.database}_empty", mentions, args.bursts, args.warmup,
                args.rounds, args.logs,
            )  # fmt: skip
    if args.json is not None:
        args.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
