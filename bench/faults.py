"""The fault drill: the whole system under load while its processes and servers are broken.

It runs what `crisiswatch up` runs, as real processes on embedded PostgreSQL and Redis in a
temporary folder (3 analysis, 2 incidents, 1 notify worker, 1 ingest, 2 gateways), and a
supervisor of its own that starts any of them again one second after it dies. Clients push
realistic chatter and crisis bursts through `POST /v1/mentions` at `--rate`, and retry the
same body (same external ids, and for half of them the same `Idempotency-Key`) on any error
or timeout, as partners do. Meanwhile, in turn: kill -9 of each process, SIGSTOP of an
analysis worker, Redis killed and started again on the same data folder, a PostgreSQL crash
(kill -9 of the postmaster, then crash recovery) and a PostgreSQL stop longer than any
retry budget. The load runs for `--seconds` or until the last fault is over, whichever is
later, so every fault happens under load.

Then it waits (bounded) for quiescence and counts, from the database and from a webhook
receiver of its own: accepted, stored, analysed, lost, unanalysed, risk signals of yellow
or above that incidents never applied (by the mark incidents writes in the transaction that
applies a signal, `applied_signal`), duplicates of every kind, client errors, and how long
the system took to catch up after the last fault. The aim is 0 lost, 0 unapplied,
0 duplicated, recovery with no hand; `--short` is the variant the test suite runs.
"""

import argparse
import asyncio
import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import uvicorn
from harness import (
    Org,
    burst_posts,
    chatter_post,
    dsn,
    free_port,
    postmaster_pid,
    realistic_texts,
    setup_orgs,
    spawn,
    wait_http,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crisiswatch.demo_stream import crisis
from crisiswatch.embedded import EmbeddedPostgres, EmbeddedRedis, start_postgres, start_redis
from libs.contracts.enums import EventType
from libs.contracts.messages import ANALYSIS_QUEUE, EVENTS_QUEUE, INCIDENTS_QUEUE, INGEST_QUEUE
from libs.contracts.notify import CreateWebhookEndpoint
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade
from libs.messaging import readiness
from libs.messaging.connection import connect
from libs.privacy import DataKey
from services.notify.endpoints.destinations import PrivateNetworks
from services.notify.endpoints.endpoints import create_endpoint

FAULTS = ("kill", "sigstop", "redis", "pg-crash", "pg-stop")
QUEUES = (ANALYSIS_QUEUE, INCIDENTS_QUEUE, INGEST_QUEUE, EVENTS_QUEUE)
CRISIS_TIERS = ("yellow", "orange", "red")
ORGS = 4
TICK = 0.5  # seconds between a client's batches
RESTART_AFTER = 1.0  # the drill's supervisor starts a dead process again this much later
RETRY_AFTER = 1.0  # a client resends a failed batch this much later (or as Retry-After says)
HTTP_TIMEOUT = 10.0
POLL = 1.0
# The timeline kinds that record a rise applied to an incident: one signal named twice
# under them is a signal applied twice. (Whether a signal was applied at all is its
# `applied_signal` mark: a fall or a crisis held by a snooze is applied without them.)
APPLIED_KINDS = ("opened", "signal", "tier_changed")


@dataclass(frozen=True)
class Plan:
    """How long each fault lasts and how the drill is laid out; the CLI's variants."""

    rate: float
    seconds: float
    faults: tuple[str, ...]
    kill_spacing: float
    pause_seconds: float
    redis_seconds: float
    pg_stop_seconds: float
    gap: float
    quiet_within: float
    short: bool
    # How long a client resends a refused batch before it gives it up.
    client_bound: float

    @classmethod
    def of(cls, args: argparse.Namespace) -> "Plan":
        """Return the plan for the command line: the full drill or `--short`'s CI variant."""
        faults = tuple(args.faults.split(",")) if args.faults else FAULTS
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise SystemExit(f"--faults: unknown {', '.join(sorted(unknown))}; know {FAULTS}")
        if args.short:
            rate, seconds = args.rate or 100.0, args.seconds or 30.0
            # The quiescence bound covers the reconciler's re-announce bound (a mention is
            # re-announced 60-120 s after it was stored): a job Redis lost in the second its
            # append-only file had not yet synced is recovered that way, and only that way.
            return cls(rate, seconds, faults, 2.0, 6.0, 10.0, 20.0, 2.0, 150.0, True, 60.0)
        rate, seconds = args.rate or 500.0, args.seconds or 120.0
        return cls(
            rate,
            seconds,
            faults,
            max(2.0, 0.25 * seconds / 9),
            40.0,
            120.0,
            300.0,
            max(2.0, 0.05 * seconds),
            900.0,
            False,
            900.0,
        )


# ---------------------------------------------------------------------------------------
# The processes and their supervisor


@dataclass
class Proc:
    """One service process the drill supervises."""

    name: str
    command: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    killed: int = 0  # exits the drill caused
    exits: Counter[int] = field(default_factory=Counter)  # exits it did not cause, by code
    dead_since: float | None = None


class Fleet:
    """The services as children; one that dies is started again a second later."""

    def __init__(self, procs: list[Proc], say: Callable[[str], None]) -> None:
        self.procs = {proc.name: proc for proc in procs}
        self.say = say
        self._expected: set[str] = set()

    def start(self) -> None:
        """Start every process."""
        for proc in self.procs.values():
            proc.process = spawn(proc.command, proc.env, proc.log)

    def kill9(self, name: str) -> None:
        """Kill `name` with SIGKILL; the supervisor brings it back."""
        proc = self.procs[name]
        assert proc.process is not None
        self._expected.add(name)
        proc.killed += 1
        proc.process.send_signal(signal.SIGCONT)  # a stopped process dies as well
        proc.process.kill()

    def signal(self, name: str, number: signal.Signals) -> None:
        """Send `number` to `name`: SIGSTOP freezes it with its jobs and connections held."""
        process = self.procs[name].process
        assert process is not None
        process.send_signal(number)

    async def supervise(self, stop: asyncio.Event) -> None:
        """Start again, RESTART_AFTER seconds on, any process that died, until `stop`."""
        while not stop.is_set():
            now = time.monotonic()
            for proc in self.procs.values():
                assert proc.process is not None
                code = proc.process.poll()
                if code is None:
                    continue
                if proc.dead_since is None:
                    proc.dead_since = now
                    if proc.name in self._expected:
                        self._expected.discard(proc.name)
                    else:
                        proc.exits[code] += 1
                        self.say(f"{proc.name} exited by itself with code {code}")
                elif now - proc.dead_since >= RESTART_AFTER:
                    proc.process = spawn(proc.command, proc.env, proc.log)
                    proc.dead_since = None
                    self.say(f"{proc.name} started again")
            await asyncio.sleep(0.2)

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL after 20 s)."""
        running = [p.process for p in self.procs.values() if p.process and p.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGCONT)
            process.send_signal(signal.SIGTERM)
        for process in running:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@dataclass
class Servers:
    """The embedded PostgreSQL and Redis, and the faults done to them."""

    root: Path
    pg: EmbeddedPostgres
    redis: EmbeddedRedis

    @property
    def pgdata(self) -> Path:
        return self.root / "pg"

    def kill_redis(self) -> None:
        self.redis.process.kill()
        self.redis.process.wait()

    def start_redis(self) -> None:
        # Started from the event loop's thread: Redis is tied to the life of that thread.
        self.redis = start_redis(self.root / "redis")

    def crash_postgres(self) -> None:
        os.kill(postmaster_pid(self.pgdata), signal.SIGKILL)

    def stop_postgres(self) -> None:
        self.pg.stop()

    async def start_postgres(self) -> None:
        """Start PostgreSQL again; after a crash its backends may take a moment to go."""
        deadline = time.monotonic() + 120
        while True:
            try:
                self.pg = await asyncio.to_thread(start_postgres, self.pgdata)
                return
            except subprocess.SubprocessError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(1)


@contextmanager
def servers(keep: Path | None) -> Iterator[Servers]:
    """Start migrated PostgreSQL and persistent Redis (as `up` runs it) in a fresh folder."""
    root = Path(tempfile.mkdtemp(prefix="cwf-", dir="/tmp"))
    pg = start_postgres(root / "pg")
    redis = start_redis(root / "redis")
    held = Servers(root, pg, redis)
    try:
        upgrade(pg.url)
        yield held
    finally:
        held.redis.stop()
        if held.pg.alive():
            held.pg.stop()
        if keep is not None:
            for source, name in (
                (root / "pg" / "log", "postgres.log"),
                (root / "redis" / "redis.log", "redis.log"),
            ):
                if source.exists():
                    shutil.copy(source, keep / name)
        shutil.rmtree(root, ignore_errors=True)


def fleet(env: dict[str, str], logs: Path, say: Callable[[str], None]) -> tuple[Fleet, list[str]]:
    """The services as `up` runs them, with replicas; and the URLs of the two gateways."""
    procs = [Proc("ingest", ["serve", "ingest"], env, logs / "ingest.log")]
    procs += [
        Proc(f"analysis-{n}", ["worker", "analysis"], env, logs / f"analysis-{n}.log")
        for n in range(3)
    ]
    procs += [
        Proc(f"incidents-{n}", ["worker", "incidents"], env, logs / f"incidents-{n}.log")
        for n in range(2)
    ]
    procs.append(Proc("notify", ["worker", "notify"], env, logs / "notify.log"))
    gateways = []
    for n in range(2):
        port = free_port()
        gateways.append(f"http://127.0.0.1:{port}")
        procs.append(
            Proc(
                f"gateway-{n}",
                ["serve", "gateway"],
                env | {"GATEWAY_PORT": str(port)},
                logs / f"gateway-{n}.log",
            )
        )
    return Fleet(procs, say), gateways


# ---------------------------------------------------------------------------------------
# The load


@dataclass
class Ledger:
    """What the clients sent and what was accepted."""

    accepted: dict[str, str] = field(default_factory=dict)  # org/external id -> mention id
    rejected: int = 0
    batches: int = 0
    resends: int = 0
    bursts: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # by HTTP status or exception
    abandoned: int = 0  # batches still refused after `give_up` seconds
    abandoned_mentions: int = 0
    longest_wait: float = 0.0  # the longest a batch took from first try to 2xx
    give_up: float = 900.0
    bucket: float = 10.0  # seconds per line of the answers' timeline
    started: float = field(default_factory=time.monotonic)
    answers: Counter[tuple[int, str]] = field(default_factory=Counter)  # (bucket, answer)

    def answered(self, answer: str) -> None:
        """Count one answer (a status or an exception) in its time bucket."""
        self.answers[(int((time.monotonic() - self.started) / self.bucket), answer)] += 1
        if not answer.startswith("2"):
            self.errors[answer] += 1

    def timeline(self) -> list[str]:
        """One line per bucket: the answers the clients got in it."""
        buckets: dict[int, Counter[str]] = {}
        for (bucket, answer), count in sorted(self.answers.items()):
            buckets.setdefault(bucket, Counter())[answer] = count
        return [
            f"t+{bucket * self.bucket:5.0f}s  "
            + ", ".join(f"{answer} ×{n}" for answer, n in sorted(counts.items()))
            for bucket, counts in buckets.items()
        ]


@dataclass
class Client:
    """One partner: its organization, its stream of ids and its crisis bursts."""

    org: Org
    stream: str
    keyed: bool  # sends an Idempotency-Key with each batch (the same on every resend)
    bursts: list[tuple[float, str]]  # (seconds after the start, watchlist tag)


async def push(
    http: httpx.AsyncClient,
    client: Client,
    batch: list[dict[str, Any]],
    number: int,
    ledger: Ledger,
) -> None:
    """Send one batch until it is answered 2xx, the same body every time."""
    headers = {"Authorization": f"Bearer {client.org.key}"}
    if client.keyed:
        headers["Idempotency-Key"] = f"{client.org.slug}-{client.stream}-{number}"
    body = {"mentions": batch}
    ledger.batches += 1
    first = time.monotonic()
    while True:
        wait = RETRY_AFTER
        try:
            response = await http.post("/v1/mentions", json=body, headers=headers)
        except httpx.HTTPError as exc:
            ledger.answered(type(exc).__name__)
        else:
            ledger.answered(str(response.status_code))
            if response.is_success:
                for item in response.json()["results"]:
                    external = f"{client.org.slug}/{batch[item['index']]['external_id']}"
                    if item["status"] == "rejected":
                        ledger.rejected += 1
                    else:
                        ledger.accepted[external] = item["id"]
                ledger.longest_wait = max(ledger.longest_wait, time.monotonic() - first)
                return
            wait = min(5.0, float(response.headers.get("Retry-After", RETRY_AFTER)))
        if time.monotonic() - first > ledger.give_up:
            ledger.abandoned += 1
            ledger.abandoned_mentions += len(batch)
            return
        ledger.resends += 1
        await asyncio.sleep(wait)


async def run_client(
    url: str, client: Client, rate: float, done: asyncio.Event, ledger: Ledger
) -> None:
    """Send `rate` mentions/s in a batch every TICK until `done`; never skip a batch."""
    texts = realistic_texts()
    complaints = [post["text"] for post in crisis("bench", datetime.now(UTC))]
    per_tick = max(1, round(rate * TICK))
    started = next_at = time.monotonic()
    bursts = sorted(client.bursts)
    sent = number = 0
    async with httpx.AsyncClient(base_url=url, timeout=HTTP_TIMEOUT) as http:
        while not done.is_set():
            batch = [
                chatter_post(client.org, texts, sent + i, client.stream) for i in range(per_tick)
            ]
            sent += per_tick
            while bursts and time.monotonic() - started >= bursts[0][0]:
                batch = burst_posts(client.org, bursts.pop(0)[1], complaints) + batch
                ledger.bursts += 1
            await push(http, client, batch, number, ledger)
            number += 1
            # Behind after an outage: go on at the rate, do not catch up in one rush.
            next_at = max(next_at + TICK, time.monotonic())
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))


def clients(orgs: list[Org], expected_length: float) -> list[Client]:
    """Two clients per organization (one keyed); the keyed one sends the bursts, spread out."""
    made = []
    for index, org in enumerate(orgs):
        count = len(org.bursts)
        times = [
            (i + 0.5 + index / len(orgs)) * expected_length / (count + 1) for i in range(count)
        ]
        made.append(Client(org, "k", True, list(zip(times, org.bursts, strict=True))))
        made.append(Client(org, "p", False, []))
    return made


# ---------------------------------------------------------------------------------------
# The webhook receiver


def own_address() -> str:
    """Return this machine's address on its default route, where the receiver listens.

    Webhooks never reach loopback, whatever the operator lists, so the receiver needs an
    address of its own; the workers are told to admit exactly it. Connecting a UDP socket
    sends nothing, it only picks the route.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError as error:
            raise SystemExit(
                "the drill's webhook receiver needs a network address besides loopback"
            ) from error
        return str(probe.getsockname()[0])


@dataclass
class Receiver:
    """An integrator's endpoint: counts each event id (`webhook-id`) it receives."""

    host: str = field(default_factory=own_address)
    port: int = field(default_factory=free_port)
    received: Counter[str] = field(default_factory=Counter)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    @property
    def network(self) -> str:
        """The operator's list that admits the receiver and nothing else."""
        return f"{self.host}/32"

    async def _hook(self, request: Request) -> Response:
        await request.body()
        self.received[request.headers.get("webhook-id", "")] += 1
        return Response(status_code=204)

    def server(self) -> uvicorn.Server:
        app = Starlette(routes=[Route("/hook", self._hook, methods=["POST"])])
        return uvicorn.Server(
            uvicorn.Config(app, host=self.host, port=self.port, log_level="warning")
        )


async def subscribe(database_url: str, orgs: list[Org], key: DataKey, receiver: Receiver) -> None:
    """Subscribe every organization's incident events to the receiver."""
    engine = create_engine(database_url, pool_size=1)
    now = datetime.now(UTC)
    private = PrivateNetworks.parse(receiver.network)
    try:
        for org in orgs:
            async with transaction(session_factory(engine)) as session:
                command = CreateWebhookEndpoint(
                    organization_id=org.id,
                    actor="bench",
                    name="drill",
                    url=receiver.url,
                    event_types=[EventType.INCIDENT_OPENED, EventType.INCIDENT_TIER_CHANGED],
                )
                made = await create_endpoint(session, command, key, now=now, private=private)
                assert made.ok, made.error
    finally:
        await engine.dispose()


class Prober:
    """Asks each HTTP service's health every half second; keeps its longest silence."""

    def __init__(self, urls: dict[str, str]) -> None:
        self.urls = urls
        self.longest: dict[str, float] = dict.fromkeys(urls, 0.0)
        self._down_since: dict[str, float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(timeout=2) as http:
            while not stop.is_set():
                for name, url in self.urls.items():
                    up = False
                    with suppress(httpx.HTTPError):
                        up = (await http.get(f"{url}/healthz")).status_code == 200
                    now = time.monotonic()
                    if up:
                        self._down_since.pop(name, None)
                    else:
                        since = self._down_since.setdefault(name, now)
                        self.longest[name] = max(self.longest[name], now - since)
                await asyncio.sleep(0.5)


# ---------------------------------------------------------------------------------------
# The fault schedule


class Schedule:
    """Runs the chosen faults in turn and notes when each began and ended."""

    def __init__(self, plan: Plan, fleet: Fleet, held: Servers, say: Callable[[str], None]):
        self.plan, self.fleet, self.held, self.say = plan, fleet, held, say
        self.started = time.monotonic()
        self.last_end: float | None = None
        self.log: list[str] = []

    def note(self, text: str) -> None:
        line = f"t+{time.monotonic() - self.started:6.1f}s  {text}"
        self.log.append(line)
        self.say(line)

    def victims(self) -> list[str]:
        """Whom kill -9 hits: every process, or one of each kind in the short variant."""
        names = list(self.fleet.procs)
        if self.plan.short:
            kinds: dict[str, str] = {}
            for name in names:
                kinds.setdefault(name.split("-")[0], name)
            names = list(kinds.values())
        return names

    async def run(self) -> None:
        steps: dict[str, Callable[[], Awaitable[None]]] = {
            "kill": self.kills,
            "sigstop": self.sigstop,
            "redis": self.redis_outage,
            "pg-crash": self.postgres_crash,
            "pg-stop": self.postgres_stop,
        }
        await asyncio.sleep(self.plan.gap * 2)  # the load runs a little before the first fault
        for name in self.plan.faults:
            await steps[name]()
            self.last_end = time.monotonic()
            await asyncio.sleep(self.plan.gap)

    async def kills(self) -> None:
        for name in self.victims():
            self.note(f"kill -9 {name}")
            self.fleet.kill9(name)
            await asyncio.sleep(self.plan.kill_spacing)

    async def sigstop(self) -> None:
        name = "analysis-1"
        self.note(f"SIGSTOP {name} for {self.plan.pause_seconds:.0f} s")
        self.fleet.signal(name, signal.SIGSTOP)
        await asyncio.sleep(self.plan.pause_seconds)
        self.fleet.signal(name, signal.SIGCONT)
        self.note(f"SIGCONT {name}")

    async def redis_outage(self) -> None:
        self.note(f"kill -9 Redis for {self.plan.redis_seconds:.0f} s")
        self.held.kill_redis()
        await asyncio.sleep(self.plan.redis_seconds)
        self.held.start_redis()
        self.note("Redis started again (same socket, same append-only file)")

    async def postgres_crash(self) -> None:
        self.note("kill -9 the PostgreSQL postmaster")
        self.held.crash_postgres()
        await asyncio.sleep(1)
        await self.held.start_postgres()
        self.note("PostgreSQL started again (crash recovery done)")

    async def postgres_stop(self) -> None:
        self.note(f"PostgreSQL stopped (fast) for {self.plan.pg_stop_seconds:.0f} s")
        await asyncio.to_thread(self.held.stop_postgres)
        await asyncio.sleep(self.plan.pg_stop_seconds)
        await self.held.start_postgres()
        self.note("PostgreSQL started again")

    def expected_length(self) -> float:
        """Roughly how long the schedule takes, to spread the crisis bursts over it."""
        plan = self.plan
        spans = {
            "kill": len(self.victims()) * plan.kill_spacing,
            "sigstop": plan.pause_seconds,
            "redis": plan.redis_seconds,
            "pg-crash": 5.0,
            "pg-stop": plan.pg_stop_seconds + 3,
        }
        return plan.gap * 2 + sum(spans[f] + plan.gap for f in plan.faults)


# ---------------------------------------------------------------------------------------
# Counting


@dataclass
class Progress:
    """What is still outstanding at one moment; all zero is quiescence."""

    unanalysed: int
    unapplied: int
    queued: int
    pending_deliveries: int
    # Committed messages not yet in Redis (between commit and publish, or left to the relay).
    unpublished: int = 0

    @property
    def quiet(self) -> bool:
        return not (
            self.unanalysed
            or self.unapplied
            or self.queued
            or self.pending_deliveries
            or self.unpublished
        )


# A stored crisis signal (a rise into yellow+ or a fall that still leaves one) that
# incidents has not applied: no mark, whatever any timeline says.
UNAPPLIED_SQL = f"""
SELECT s.id, s.watchlist_id, s.tier, s.components->>'previous_tier' AS previous_tier,
       s.created_at
FROM risk_signal s
WHERE s.tier IN {CRISIS_TIERS}
  AND NOT EXISTS (SELECT 1 FROM applied_signal a WHERE a.signal_id = s.id)
ORDER BY s.created_at
"""


class Watcher:
    """Reads progress from PostgreSQL and Redis, surviving their outages."""

    def __init__(self, database_url: str, held: Servers, ledger: Ledger) -> None:
        self.database_url = dsn(database_url)
        self.held = held
        self.ledger = ledger
        self.analysed: set[str] = set()

    async def progress(self) -> Progress:
        conn = await asyncpg.connect(self.database_url, timeout=5)
        try:
            pending = [i for i in self.ledger.accepted.values() if i not in self.analysed]
            for start in range(0, len(pending), 20000):
                rows = await conn.fetch(
                    "SELECT mention_id::text FROM mention_analysis "
                    "WHERE mention_id = ANY($1::uuid[])",
                    pending[start : start + 20000],
                )
                self.analysed.update(row[0] for row in rows)
            unapplied = len(await conn.fetch(UNAPPLIED_SQL))
            deliveries = await conn.fetchval(
                "SELECT count(*) FROM webhook_delivery WHERE status = 'pending'"
            )
            unpublished = await conn.fetchval(
                "SELECT count(*) FROM outbox_message WHERE published_at IS NULL"
            )
        finally:
            await conn.close()
        redis = await connect(self.held.redis.url)
        try:
            queued = sum([await redis.zcard(queue) for queue in QUEUES])
        finally:
            await redis.aclose()
        unanalysed = len({*self.ledger.accepted.values()} - self.analysed)
        return Progress(unanalysed, unapplied, queued, int(deliveries), int(unpublished))

    async def until_quiet(self, within: float) -> Progress | None:
        """Poll until nothing is outstanding; None if `within` seconds pass first."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            with suppress(OSError, asyncpg.PostgresError, TimeoutError, ConnectionError):
                found = await self.progress()
                if found.quiet:
                    return found
            await asyncio.sleep(POLL)
        return None


async def figures(database_url: str, ledger: Ledger, receiver: Receiver) -> dict[str, Any]:
    """Count everything the drill promises, from the database and the receiver."""
    conn = await asyncpg.connect(dsn(database_url))
    try:
        accepted = list(set(ledger.accepted.values()))
        one = conn.fetchval
        stored = await one("SELECT count(*) FROM mention")
        analysed = await one("SELECT count(*) FROM mention_analysis")
        lost = await one(
            "SELECT count(*) FROM unnest($1::uuid[]) a(id) "
            "WHERE NOT EXISTS (SELECT 1 FROM mention m WHERE m.id = a.id)",
            accepted,
        )
        unanalysed = await one(
            "SELECT count(*) FROM unnest($1::uuid[]) a(id) "
            "WHERE EXISTS (SELECT 1 FROM mention m WHERE m.id = a.id) "
            "AND NOT EXISTS (SELECT 1 FROM mention_analysis x WHERE x.mention_id = a.id)",
            accepted,
        )
        crisis_signals = await one(f"SELECT count(*) FROM risk_signal WHERE tier IN {CRISIS_TIERS}")
        unapplied = [dict(row) for row in await conn.fetch(UNAPPLIED_SQL)]
        applied_how = dict(
            await conn.fetch(
                "SELECT a.outcome, count(*) FROM risk_signal s "
                "JOIN applied_signal a ON a.signal_id = s.id "
                f"WHERE s.tier IN {CRISIS_TIERS} GROUP BY 1 ORDER BY 1"
            )
        )
        # Applied, but on no timeline: a fall of a watchlist with no incident of its own,
        # a crisis a snooze holds. What the drill once counted as unapplied (finding 9).
        on_no_timeline = await one(
            "SELECT count(*) FROM risk_signal s JOIN applied_signal a ON a.signal_id = s.id "
            f"WHERE s.tier IN {CRISIS_TIERS} AND NOT EXISTS (SELECT 1 FROM timeline_event e "
            "WHERE e.data->>'signal_id' = s.id::text)"
        )
        watchlists_in_crisis = await one(
            f"SELECT count(*) FROM watchlist WHERE current_tier IN {CRISIS_TIERS}"
        )
        # Where the signals of a watchlist at yellow+ with no incident of its own went: a
        # signal that joined another watchlist's incident of the same story is applied there.
        # Competitor and industry watchlists open none by design (`watch_only`): not counted.
        orphans = [
            {k: str(v) for k, v in dict(row).items()}
            for row in await conn.fetch(
                f"SELECT w.name, w.current_tier, count(DISTINCT s.id) AS signals, "
                "array_agg(DISTINCT iw.name) FILTER (WHERE iw.name IS NOT NULL) AS applied_on "
                "FROM watchlist w JOIN risk_signal s ON s.watchlist_id = w.id "
                f"AND s.tier IN {CRISIS_TIERS} "
                "LEFT JOIN applied_signal a ON a.signal_id = s.id "
                "LEFT JOIN incident i ON i.id = a.incident_id "
                "LEFT JOIN watchlist iw ON iw.id = i.watchlist_id "
                f"WHERE w.current_tier IN {CRISIS_TIERS} "
                "AND w.kind IN ('own_brand', 'product_line') "
                "AND NOT EXISTS (SELECT 1 FROM incident x WHERE x.watchlist_id = w.id) "
                "GROUP BY w.name, w.current_tier ORDER BY w.name"
            )
        ]
        open_per_watchlist = await conn.fetch(
            "SELECT watchlist_id, count(*) AS n FROM incident "
            "WHERE status NOT IN ('resolved', 'closed', 'merged', 'false_alarm') "
            "GROUP BY watchlist_id"
        )
        groups = {
            "duplicate analyses": "SELECT mention_id FROM mention_analysis GROUP BY 1",
            "signals applied twice": (
                f"SELECT data->>'signal_id' FROM timeline_event WHERE kind IN {APPLIED_KINDS} "
                "AND data ? 'signal_id' GROUP BY 1"
            ),
            "duplicate tasks": "SELECT incident_id, kind FROM response_task GROUP BY 1, 2",
            "duplicate incident events": (
                "SELECT incident_id FROM integration_event "
                "WHERE type = 'incident.opened' GROUP BY 1"
            ),
            "duplicate deliveries": (
                "SELECT endpoint_id, event_id FROM webhook_delivery GROUP BY 1, 2"
            ),
        }
        duplicates = {
            name: await one(f"SELECT count(*) FROM ({query} HAVING count(*) > 1) d")
            for name, query in groups.items()
        }
        events = [
            str(row[0])
            for row in await conn.fetch(
                "SELECT id FROM integration_event WHERE type = ANY($1::text[])",
                [EventType.INCIDENT_OPENED.value, EventType.INCIDENT_TIER_CHANGED.value],
            )
        ]
        deliveries = dict(
            await conn.fetch("SELECT status, count(*) FROM webhook_delivery GROUP BY 1")
        )
        undelivered = [
            {k: str(v) for k, v in dict(row).items()}
            for row in await conn.fetch(
                "SELECT event_type, status, attempts, last_status_code, "
                "left(last_error, 200) AS last_error, created_at, next_attempt_at "
                "FROM webhook_delivery WHERE status <> 'succeeded' ORDER BY created_at"
            )
        ]
        dead = [
            dict(row)
            for row in await conn.fetch(
                "SELECT consumer, job_name, left(error, 160) AS error, count(*) AS n "
                "FROM dead_letter GROUP BY 1, 2, 3 ORDER BY 4 DESC"
            )
        ]
    finally:
        await conn.close()
    return {
        "accepted": len(accepted),
        "rejected": ledger.rejected,
        "stored": stored,
        "analysed": analysed,
        "lost": lost,
        "unanalysed": unanalysed,
        "crisis signals": crisis_signals,
        "unapplied signals": len(unapplied),
        "unapplied detail": [{k: str(v) for k, v in row.items()} for row in unapplied[:20]],
        "crisis signals applied, by what they did": applied_how,
        "crisis signals applied that no timeline names": on_no_timeline,
        "watchlists at yellow+": watchlists_in_crisis,
        # Signals that joined another watchlist's incident of the same story were applied.
        "watchlists at yellow+ with no incident holding their signals": sum(
            1 for row in orphans if row["applied_on"] == "None"
        ),
        "watchlists at yellow+ whose signals joined another's incident": orphans,
        "open incidents": sum(row["n"] for row in open_per_watchlist),
        "watchlists with >1 open incident": sum(1 for row in open_per_watchlist if row["n"] > 1),
        **duplicates,
        "webhook events": len(events),
        "webhook events never received": len(set(events) - set(receiver.received)),
        "webhook events received more than once": sum(
            1 for n in receiver.received.values() if n > 1
        ),
        "webhook deliveries by status": deliveries,
        "webhook deliveries not succeeded": undelivered,
        "dead letters": dead,
    }


def duplicated(found: dict[str, Any]) -> int:
    """Sum of every duplicate the drill counts (the aim is 0)."""
    return sum(
        found[name]
        for name in (
            "duplicate analyses",
            "signals applied twice",
            "duplicate tasks",
            "duplicate incident events",
            "duplicate deliveries",
            "watchlists with >1 open incident",
        )
    )


# ---------------------------------------------------------------------------------------
# The drill


async def drill(
    plan: Plan, held: Servers, logs: Path, say: Callable[[str], None]
) -> dict[str, Any]:
    """Run the whole drill on migrated servers; return the figures."""
    data_key = base64.b64encode(secrets.token_bytes(32)).decode()
    orgs = await setup_orgs(held.pg.url, ORGS, 2 if plan.short else 3, prefix="drill")
    receiver = Receiver()
    await subscribe(held.pg.url, orgs, DataKey.from_base64(data_key), receiver)
    ingest_port = free_port()
    env = {
        "DATABASE_URL": held.pg.url,
        "REDIS_URL": held.redis.url,
        "CRISISWATCH_DATA_KEY": data_key,
        "INGEST_PORT": str(ingest_port),
        "RISK_CHECK_ENABLED": "false",
        "CRISISWATCH_WEBHOOK_PRIVATE_CIDRS": receiver.network,
    }
    procs, gateways = fleet(env, logs, say)
    ingest = f"http://127.0.0.1:{ingest_port}"
    hook = asyncio.create_task(receiver.server().serve())
    procs.start()
    try:
        return await _drive(plan, held, procs, orgs, ingest, gateways, receiver, say)
    finally:
        await asyncio.to_thread(procs.stop)
        hook.cancel()


async def _drive(
    plan: Plan,
    held: Servers,
    procs: Fleet,
    orgs: list[Org],
    ingest: str,
    gateways: list[str],
    receiver: Receiver,
    say: Callable[[str], None],
) -> dict[str, Any]:
    for url in (ingest, *gateways):
        await asyncio.to_thread(wait_http, url, 120)
    missing = await readiness.wait_ready(held.redis.url, ("analysis", "incidents", "notify"), 120)
    if missing:
        raise SystemExit(f"workers not ready: {missing}")
    stop_supervising = asyncio.Event()
    supervisor = asyncio.create_task(procs.supervise(stop_supervising))
    schedule = Schedule(plan, procs, held, say)
    ledger = Ledger(
        give_up=plan.client_bound, bucket=5.0 if plan.short else 15.0, started=schedule.started
    )
    prober = Prober({"ingest": ingest} | {f"gateway-{n}": url for n, url in enumerate(gateways)})
    probing = asyncio.create_task(prober.run(stop_supervising))
    done = asyncio.Event()
    load = [
        asyncio.create_task(run_client(ingest, client, plan.rate / (2 * len(orgs)), done, ledger))
        for client in clients(orgs, max(plan.seconds, schedule.expected_length()))
    ]
    say(f"load: {plan.rate:.0f} mentions/s from {len(load)} clients; faults {plan.faults}")
    await asyncio.gather(schedule.run(), asyncio.sleep(plan.seconds))
    done.set()
    fault_end = schedule.last_end or time.monotonic()
    await asyncio.gather(*load)  # the batches still being resent, up to the clients' bound
    watcher = Watcher(held.pg.url, held, ledger)
    quiet = await watcher.until_quiet(plan.quiet_within)
    recovered = time.monotonic() - fault_end if quiet is not None else None
    stop_supervising.set()
    await asyncio.gather(supervisor, probing)
    found = await figures(held.pg.url, ledger, receiver)
    answering = 0
    async with httpx.AsyncClient(timeout=5) as http:
        for url in (ingest, *gateways):
            with suppress(httpx.HTTPError):
                answering += (await http.get(f"{url}/healthz")).status_code == 200
    return {
        "rate": plan.rate,
        "seconds": plan.seconds,
        "short": plan.short,
        "faults": schedule.log,
        "load seconds": round(time.monotonic() - schedule.started, 1),
        "batches": ledger.batches,
        "resends": ledger.resends,
        "bursts": ledger.bursts,
        **found,
        "duplicated": duplicated(found),
        "client errors": dict(ledger.errors),
        "longest wait for a 2xx (s)": round(ledger.longest_wait, 1),
        "batches abandoned": ledger.abandoned,
        "mentions in abandoned batches": ledger.abandoned_mentions,
        "answers over time": ledger.timeline(),
        "recovered after last fault (s)": None if recovered is None else round(recovered, 1),
        "outstanding at the bound": None if quiet is not None else str(await _last(watcher)),
        "http services answering": f"{answering}/{1 + len(gateways)}",
        "longest unanswered stretch (s)": {k: round(v, 1) for k, v in prober.longest.items()},
        "load average (1 min) at the end": round(os.getloadavg()[0], 1),
        "exits not caused by the drill": {
            p.name: dict(p.exits) for p in procs.procs.values() if p.exits
        },
    }


async def _last(watcher: Watcher) -> Progress | None:
    try:
        return await watcher.progress()
    except (OSError, asyncpg.PostgresError, TimeoutError, ConnectionError):
        return None


def report(found: dict[str, Any]) -> None:
    """Print the figures, one per line."""
    print()
    for name, value in found.items():
        if name == "faults":
            continue
        if isinstance(value, list) and value:
            print(f"{name}:")
            for row in value:
                print(f"    {row}")
        else:
            print(f"{name:<42} {value}")
    aim = found["lost"] == found["unapplied signals"] == found["duplicated"] == 0
    recovered = found["recovered after last fault (s)"] is not None
    verdict = "met" if aim and recovered else "NOT met"
    print(f"\naim (0 lost, 0 unapplied, 0 duplicated, recovered): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, help="mentions per second (500; --short 100)")
    parser.add_argument("--seconds", type=float, help="least seconds of load (120; --short 30)")
    parser.add_argument("--short", action="store_true", help="the short variant CI runs")
    parser.add_argument("--faults", help=f"comma-separated subset of {','.join(FAULTS)}")
    parser.add_argument("--logs", type=Path, help="keep the services' and servers' logs here")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    plan = Plan.of(args)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="cwf-logs-", dir="/tmp"))
    logs.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    with servers(logs) as held:
        found = asyncio.run(drill(plan, held, logs, lambda line: print(line, flush=True)))
    report(found)
    if args.json is not None:
        args.json.write_text(json.dumps(found, ensure_ascii=False, indent=2, default=str))
    if args.logs is None:
        shutil.rmtree(logs, ignore_errors=True)


if __name__ == "__main__":
    main()
