"""Every read the console makes, through GraphQL, timed one request at a time (`scale.py`).

One client, one request in flight: the figure is what an analyst waits for each view, not
throughput. Each read runs `repeat` times after one unmeasured warm-up; a read that answers
with GraphQL errors is reported as failed, never timed as a success.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import httpx
from graphql import GraphQLSchema, build_schema, parse, validate
from graphql.validation import NoDeprecatedCustomRule
from harness import percentile

from gateway.print_schema import render

AIM_MS = 200.0
MENTION_FIELDS = (
    "id text postedAt source metrics { views likes } author { handle followers } "
    "analysis { sentiment sentimentScore influence matchedKeywords }"
)
INCIDENT_FIELDS = "id title tier status detectedAt watchlist { name }"
AUTHOR_ORDERS = (
    "MENTION_COUNT", "REACH", "ENGAGEMENT", "INFLUENCE", "NEGATIVE_COUNT", "FOLLOWERS",
    "LAST_POSTED_AT",
)  # fmt: skip
PAGES_DEEP = 20


@cache
def _schema() -> GraphQLSchema:
    """The gateway's schema as this checkout renders it."""
    return build_schema(render())


@dataclass
class Timing:
    """One read's latencies in milliseconds, and its failures (with the first error)."""

    name: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    error: str | None = None

    def p(self, share: float) -> float | None:
        """The nearest-rank percentile, or None when no request succeeded."""
        return percentile(self.latencies, share) if self.latencies else None


class Console:
    """A GraphQL client with an admin key, answering data or raising on errors.

    A document that reads a deprecated field is refused before it is sent: the figures are
    for the forms a console should send, not for ones on their way out.
    """

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )
        self.checked: set[str] = set()

    def ask(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Post one document; return its data, or raise with the errors it answered."""
        if query not in self.checked:
            deprecated = validate(_schema(), parse(query), [NoDeprecatedCustomRule])
            if deprecated:
                raise RuntimeError("; ".join(error.message for error in deprecated))
            self.checked.add(query)
        answer = self.http.post("/graphql", json={"query": query, "variables": variables or {}})
        body = answer.json()
        if answer.status_code != 200 or body.get("errors"):
            raise RuntimeError(f"{answer.status_code} {str(body.get('errors', body))[:300]}")
        data: dict[str, Any] = body["data"]
        return data

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()


def _time(console: Console, name: str, repeat: int, read: Callable[[], object]) -> Timing:
    timing = Timing(name)
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        try:
            read()
        except (RuntimeError, httpx.HTTPError) as error:
            timing.failures += 1
            timing.error = timing.error or str(error)
            continue
        if attempt:  # the first is a warm-up
            timing.latencies.append((time.perf_counter() - started) * 1000)
    return timing


def _mentions_page(console: Console, after: str | None, extra: str = "") -> dict[str, Any]:
    query = (
        "query($after: String) { mentions(first: 20, after: $after" + extra + ") { "
        "edges { cursor node { " + MENTION_FIELDS + " } } pageInfo { hasNextPage endCursor } } }"
    )
    page: dict[str, Any] = console.ask(query, {"after": after})["mentions"]
    return page


def _deep_cursor(console: Console, pages: int) -> str | None:
    """The cursor after `pages - 1` pages, so the timed request is the `pages`-th page."""
    after = None
    for _ in range(pages - 1):
        info = _mentions_page(console, after)["pageInfo"]
        after = info["endCursor"]
        if not info["hasNextPage"]:
            break
    return after


def console_reads(console: Console, repeat: int, *, hit: str, miss: str) -> list[Timing]:
    """Time each console read `repeat` times; return the timings in console order."""
    lists = console.ask("{ watchlists { id name } }")["watchlists"]
    watchlist = next((w["id"] for w in lists if w["name"] == "品牌"), lists[0]["id"])
    incident = console.ask("{ incidents(first: 1) { edges { node { id } } } }")["incidents"]
    incident_id = incident["edges"][0]["node"]["id"] if incident["edges"] else None
    now = datetime.now(UTC)
    deep = _deep_cursor(console, PAGES_DEEP)

    reads: list[tuple[str, Callable[[], object]]] = [
        ("watchlists", lambda: console.ask("{ watchlists { id name query currentTier } }")),
        (
            "incidents (first 20, total)",
            lambda: console.ask(
                "{ incidents(first: 20) { totalCount totalCountIsExact edges { node { "
                + INCIDENT_FIELDS
                + " } } } }"
            ),
        ),
        (
            "incidents (open)",
            lambda: console.ask(
                "{ incidents(first: 20, filter: {open: true}) { edges { node { "
                + INCIDENT_FIELDS
                + " } } } }"
            ),
        ),
    ]
    if incident_id is not None:
        reads.append(
            (
                "incident (tasks, timeline, statements, signal)",
                lambda: console.ask(
                    "query($id: ID!) { incident(id: $id) { " + INCIDENT_FIELDS + " "
                    "tasksConnection(first: 100) { nodes { id title dueAt status } } "
                    "timelineConnection(first: 100) { nodes { id message actor occurredAt } } "
                    "statementsConnection(first: 50) { nodes { id status body createdAt } } "
                    "latestSignal { tier score } } }",
                    {"id": incident_id},
                ),
            )
        )
    reads += [
        ("mentions page 1", lambda: _mentions_page(console, None)),
        (
            "mentions: total (estimated past its bound)",
            lambda: console.ask("{ mentions(first: 1) { totalCount totalCountIsExact } }"),
        ),
        (f"mentions page {PAGES_DEEP}", lambda: _mentions_page(console, deep)),
        (
            "mentions negative",
            lambda: _mentions_page(console, None, ", filter: {sentiment: NEGATIVE}"),
        ),
        (
            "mentions of a watchlist",
            lambda: _mentions_page(console, None, f', filter: {{watchlistId: "{watchlist}"}}'),
        ),
        (
            "mentions by influence",
            lambda: _mentions_page(console, None, ", orderBy: {field: INFLUENCE}"),
        ),
        (
            "mentions by influence, ascending",
            lambda: _mentions_page(console, None, ", orderBy: {field: INFLUENCE, direction: ASC}"),
        ),
        (
            "mentions waiting for analysis",
            lambda: _mentions_page(console, None, ", filter: {analyzed: false}"),
        ),
        (
            "mention text search (hit)",
            lambda: _mentions_page(console, None, f', filter: {{textContains: "{hit}"}}'),
        ),
        (
            "mention text search (miss)",
            lambda: _mentions_page(console, None, f', filter: {{textContains: "{miss}"}}'),
        ),
        (
            "signals (first 20)",
            lambda: console.ask(
                "{ signals(first: 20) { edges { node { id tier score reasons createdAt "
                "story { title } } } } }"
            ),
        ),
        (
            "stories of a watchlist",
            lambda: console.ask(
                "query($w: ID) { stories(first: 20, watchlistId: $w) { edges { node { id title "
                "mentionCount startedAt lastPostedAt } } } }",
                {"w": watchlist},
            ),
        ),
    ]
    for order in AUTHOR_ORDERS:
        reads.append(
            (
                f"authors by {order.lower()}",
                lambda order=order: console.ask(  # type: ignore[misc]
                    "{ authors(first: 20, orderBy: {field: " + order + "}) { edges { node { "
                    "handle followers mentionCount negativeCount reachTotal influence } } } }"
                ),
            )
        )
    for label, days in (("24 h", 1), ("7 d", 7), ("30 d", 30)):
        since = (now - timedelta(days=days)).isoformat()
        bucket = "HOUR" if days <= 7 else "DAY"
        reads.append(
            (
                f"dashboard {label}",
                lambda since=since, bucket=bucket: console.ask(  # type: ignore[misc]
                    "query($since: DateTime) { dashboard(since: $since) { "
                    f"volume(bucket: {bucket}) {{ start total negative }} "
                    "shareOfVoice { watchlist { name } mentionTotal negativeTotal } "
                    "topTerms { term mentions } topAuthors { handle mentionCount } "
                    "incidents { detected openIncidents } } }",
                    {"since": since},
                ),
            )
        )
    week = (now - timedelta(days=7)).isoformat()
    reads.append(
        (
            "dashboard 7 d: tokens, authors by reach",
            lambda: console.ask(
                "query($since: DateTime) { dashboard(since: $since) { "
                "topTerms(kind: TOKEN, first: 30) { term mentions exact } "
                "topAuthors(by: REACH) { handle reachTotal } } }",
                {"since": week},
            ),
        )
    )
    reads.append(
        (
            "authors of the last 7 d",
            lambda: console.ask(
                "query($since: DateTime) { authors(first: 20, filter: {since: $since}) { "
                "edges { node { handle mentionCount reachTotal } } } }",
                {"since": week},
            ),
        )
    )
    return [_time(console, name, repeat, read) for name, read in reads]


def print_reads(timings: list[Timing], say: Callable[[str], None] = print) -> None:
    """Print p50/p95 per read against the aim."""
    say(f"  {'read':<36} {'p50 ms':>8} {'p95 ms':>8}  aim p95 < {AIM_MS:.0f} ms")
    for t in timings:
        p50, p95 = t.p(0.5), t.p(0.95)
        if p50 is None or p95 is None:
            say(f"  {t.name:<36} {'failed':>8} {'':>8}  {t.error}")
            continue
        verdict = "ok" if p95 < AIM_MS and not t.failures else "OVER"
        failed = f" ({t.failures} failed: {t.error})" if t.failures else ""
        say(f"  {t.name:<36} {p50:8.1f} {p95:8.1f}  {verdict}{failed}")
