"""GraphQL pages against a bare FastAPI endpoint returning the same nodes, same run.

Two pages a war-room console loads constantly: 50 mentions with their analysis and author,
and 50 incidents with their tasks, each asked as the reference console asks (the tasks
through `tasksConnection`, not the deprecated list). 50 concurrent clients on loopback hit
the gateway (`crisiswatch serve gateway`, one process) and the bare endpoint (`bare_api.py`, one
uvicorn process) for the same time; both read the same embedded PostgreSQL. Before any
load, the nodes each answers are compared and the run stops if they differ.

Each page is measured in several rounds; a round loads the gateway and the bare endpoint
one after the other (the order alternates), each phase after an unmeasured warm-up and
followed by one client alone. Printed per round: the rate of each and their ratio; then,
over all rounds, for each endpoint: requests/s (median of the rounds, with the range),
latency p50/p95 under load, the CPU time the server process and PostgreSQL spent per
request, and p50/p95 of one client alone; and the ratios, the rate's as the median of the
rounds' ratios. A wrong answer (an error, a refusal, not a full page) stops the run with
its reason: a rate of failures is not a rate of pages. A connection dropped on the way is
counted and reported, and stops the run only past 1% of the requests.

The clients, both servers and PostgreSQL share the machine, so requests/s under load also
measures the client and whatever else runs; CPU time per request is the steadier figure
of what a page costs the server.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
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
from sqlalchemy import text

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
  tasksConnection(first: 10) { nodes { id title kind dueAt status } }
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
        # Fresh statistics, as a database in use has: without them the planner guesses
        # the tables empty, and either endpoint's joins may get a plan no real one would.
        async with engine.begin() as connection:  # committed, or the statistics are undone
            await connection.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


PAGE = 50
AIM = 0.5
# A connection dropped on the way (a transport error) is counted apart from a wrong answer,
# which always stops the run; more than this share of them stops it too.
DROPPED = "dropped "
MAX_DROPPED = 0.01


class Refused(RuntimeError):
    """An answer that is not a full page: an error, a refusal or too few rows."""


def nodes(body: Any) -> list[Any]:
    """Return the nodes a response carries; raise Refused if it is an error or not a page."""
    if isinstance(body, list):  # the bare endpoint
        return body
    if "errors" in body:
        raise Refused(f"GraphQL errors: {body['errors']}")
    (connection,) = body["data"].values()
    return [edge["node"] for edge in connection["edges"]]


async def hammer(
    url: str, clients: int, seconds: float, *, headers: dict[str, str], json: object | None
) -> tuple[float, list[float], list[str]]:
    """Run `clients` loops for `seconds`; return (requests/s, latencies in seconds, failures).

    Every answer is read and checked to hold a full page; a failed request is recorded with
    its reason, not timed, and the loop goes on.
    """
    latencies: list[float] = []
    failures: list[str] = []
    deadline = time.perf_counter() + seconds

    async def loop(http: httpx.AsyncClient) -> None:
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if json is None:
                    response = await http.get(url, headers=headers)
                else:
                    response = await http.post(url, headers=headers, json=json)
                if response.status_code != 200:
                    raise Refused(f"HTTP {response.status_code}: {response.text[:300]}")
                if len(nodes(response.json())) != PAGE:
                    raise Refused("not a full page")
            except httpx.TransportError as dropped:
                # A connection the loaded machine dropped, not a wrong answer: counted.
                failures.append(f"{DROPPED}{type(dropped).__name__}: {dropped}")
                continue
            except (httpx.HTTPError, Refused) as failure:
                failures.append(f"{type(failure).__name__}: {failure}")
                continue
            latencies.append(time.perf_counter() - started)

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=30, limits=limits) as http:
        started = time.perf_counter()
        await asyncio.gather(*(loop(http) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return len(latencies) / elapsed, latencies, failures


@dataclass(frozen=True)
class Target:
    """One endpoint serving one page: where, how to ask, and which processes to charge."""

    name: str
    url: str
    server: int  # pid of the server process
    headers: dict[str, str]
    json: object | None


@dataclass(frozen=True)
class Phase:
    """One endpoint's figures for one page in one round."""

    rate: float
    latencies: list[float]
    requests: int
    server_cpu: float  # seconds, the server process, over the loaded phase
    database_cpu: float  # seconds, PostgreSQL's backends, over the loaded phase
    alone: list[float]  # latencies of a single client


def measure(target: Target, args: argparse.Namespace, postmaster: int) -> Phase:
    """Warm `target` up, load it with `args.clients` clients, then time one client alone."""
    asyncio.run(
        hammer(target.url, args.clients, args.warmup, headers=target.headers, json=target.json)
    )
    server_before = cpu_seconds(target.server)
    database_before = children_cpu_seconds(postmaster)
    rate, latencies, failures = asyncio.run(
        hammer(target.url, args.clients, args.seconds, headers=target.headers, json=target.json)
    )
    server_cpu = cpu_seconds(target.server) - server_before
    database_cpu = children_cpu_seconds(postmaster) - database_before
    _, alone, lone_failures = asyncio.run(
        hammer(target.url, 1, args.alone_seconds, headers=target.headers, json=target.json)
    )
    failures += lone_failures
    wrong = [failure for failure in failures if not failure.startswith(DROPPED)]
    dropped = len(failures) - len(wrong)
    if wrong or dropped > MAX_DROPPED * (len(latencies) + len(alone)):
        sys.exit(
            f"{target.name}: {len(failures)} failed requests, the first: {(wrong or failures)[0]}"
            "\nThe figures would not be of full pages; fix the cause and run again."
        )
    if dropped:
        print(f"  ({target.name}: {dropped} connections dropped by the loaded machine, not timed)")
    return Phase(rate, latencies, len(latencies), server_cpu, database_cpu, alone)


@dataclass(frozen=True)
class Summary:
    """One endpoint's figures for one page over all rounds."""

    rates: list[float]
    latencies: list[float]
    server_cpu: float  # seconds per request
    database_cpu: float  # seconds per request
    alone: list[float]

    @classmethod
    def of(cls, phases: Sequence[Phase]) -> "Summary":
        requests = sum(phase.requests for phase in phases)
        return cls(
            rates=[phase.rate for phase in phases],
            latencies=[latency for phase in phases for latency in phase.latencies],
            server_cpu=sum(phase.server_cpu for phase in phases) / requests,
            database_cpu=sum(phase.database_cpu for phase in phases) / requests,
            alone=[latency for phase in phases for latency in phase.alone],
        )

    @property
    def rate(self) -> float:
        return statistics.median(self.rates)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def line(name: str, summary: Summary) -> str:
    return (
        f"  {name:<24} {summary.rate:5.0f} req/s"
        f" ({min(summary.rates):.0f}-{max(summary.rates):.0f})"
        f"   p50 {ms(statistics.median(summary.latencies)):>6} ms"
        f"   p95 {ms(percentile(summary.latencies, 0.95)):>6} ms"
        f"   CPU/req server {ms(summary.server_cpu):>4} ms,"
        f" PostgreSQL {ms(summary.database_cpu)} ms"
        f"   one client p50 {ms(statistics.median(summary.alone)):>5} ms"
        f" p95 {ms(percentile(summary.alone, 0.95)):>5} ms"
    )


def same_nodes(page: str, graph: Target, bare: Target) -> None:
    """Stop the run unless both endpoints answer this page with the same nodes."""
    answers = []
    for target in (graph, bare):
        if target.json is None:
            response = httpx.get(target.url, headers=target.headers, timeout=30)
        else:
            response = httpx.post(target.url, headers=target.headers, json=target.json, timeout=30)
        response.raise_for_status()
        answers.append(nodes(response.json()))
    ours, theirs = answers
    if len(ours) != PAGE or ours != theirs:
        differing = next(
            (i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), None
        )
        detail = (
            f"first difference at node {differing}:\n  GraphQL {ours[differing]}\n"
            f"  bare    {theirs[differing]}"
            if differing is not None
            else f"{len(ours)} GraphQL nodes, {len(theirs)} bare"
        )
        sys.exit(f"{page}: the bare endpoint does not answer what the gateway does; {detail}")


def run_page(
    page: str, graph: Target, bare: Target, args: argparse.Namespace, postmaster: int
) -> tuple[float, float]:
    """Measure one page in `args.rounds` rounds; print them; return (rate, CPU) ratios."""
    print(page)
    phases: dict[str, list[Phase]] = {graph.name: [], bare.name: []}
    ratios = []
    for number in range(args.rounds):
        order = (graph, bare) if number % 2 == 0 else (bare, graph)
        measured = {target.name: measure(target, args, postmaster) for target in order}
        for name, phase in measured.items():
            phases[name].append(phase)
        ratio = measured[graph.name].rate / measured[bare.name].rate
        ratios.append(ratio)
        print(
            f"  round {number + 1} ({order[0].name} first): GraphQL"
            f" {measured[graph.name].rate:.0f} req/s, bare {measured[bare.name].rate:.0f} req/s,"
            f" ratio {ratio:.2f}"
        )
    ours, theirs = Summary.of(phases[graph.name]), Summary.of(phases[bare.name])
    print(line("GraphQL gateway", ours))
    print(line("bare FastAPI, same nodes", theirs))
    rate_ratio = statistics.median(ratios)
    cpu_ratio = theirs.server_cpu / ours.server_cpu
    print(
        f"  ratio GraphQL / bare: {rate_ratio:.2f} of the rate (rounds {min(ratios):.2f}-"
        f"{max(ratios):.2f}), {cpu_ratio:.2f} of the server CPU per request"
        f" ({ours.server_cpu / theirs.server_cpu:.1f}x),"
        f" one client p95 {ms(percentile(ours.alone, 0.95))} vs"
        f" {ms(percentile(theirs.alone, 0.95))} ms"
    )
    verdict = "met" if rate_ratio >= AIM else "NOT met"
    print(f"  aim: at least {AIM} of the bare endpoint's rate: {verdict}\n")
    return rate_ratio, cpu_ratio


PAGES = {
    "mentions": ("50 mentions + analysis + author", MENTIONS_QUERY),
    "incidents": ("50 incidents + 250 tasks", INCIDENTS_QUERY),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0, help="each loaded phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="before each loaded phase")
    parser.add_argument(
        "--alone-seconds", type=float, default=3.0, help="one client alone, after each phase"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds per page, at least 1")
    parser.add_argument("--pages", nargs="+", choices=sorted(PAGES), default=list(PAGES))
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")

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
                # request budgets would turn it into 429s.
                "RATE_LIMIT_PER_MINUTE": "0",
                "RATE_LIMIT_PER_ORGANIZATION_PER_MINUTE": "0",
                "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
                # The cost budget stays on, so every request is priced and charged in Redis
                # as in production, but it is too large to run out.
                "GRAPHQL_COST_PER_MINUTE": "1000000000",
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
                    f"one client alone {args.alone_seconds:g} s; {args.rounds} rounds a page\n"
                )
                results = {}
                for page in args.pages:
                    title, query = PAGES[page]
                    graph = Target(
                        "GraphQL", f"{gateway}/graphql", gateway_process.pid, auth, {"query": query}
                    )
                    plain = Target("bare", f"{base}/{page}/{org}", bare.pid, {}, None)
                    same_nodes(title, graph, plain)
                    results[title] = run_page(title, graph, plain, args, postmaster)
                for title, (rate_ratio, cpu_ratio) in results.items():
                    print(
                        f"{title}: {rate_ratio:.2f} of the bare rate,"
                        f" {cpu_ratio:.2f} of its CPU per request"
                    )
        finally:
            if bare is not None:
                bare.terminate()
                bare.wait(30)


if __name__ == "__main__":
    main()
