"""Console reads at scale: the rollups, the text index and the story index against the raw
scans they replaced, on the same synthetic data in the same run.

Loads one organization's mentions spread over 30 days (COPY, as a bulk load would: the
analysis service does not see them), its authors, analyses, watchlist hits and stories,
then `rollups rebuild`s it (timed), and measures each console read through a real gateway
process (`crisiswatch serve gateway`) from one client: p50/p95 of `--repeat` requests. The
old raw-scan SQL of the same figures runs directly on PostgreSQL (`--raw-repeat` times).

    .venv/bin/python bench/rollups.py --mentions 1000000 \\
        --database-url postgresql://postgres@127.0.0.1:5432/crisiswatch_rollups \\
        --redis-url redis://127.0.0.1:6379/4

The database named in the URL is created, and dropped at the end unless `--keep`.
"""

import argparse
import asyncio
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from harness import free_port, make_key, percentile, realistic_texts, services, wait_http
from sqlalchemy.engine import make_url

from libs.database import rollups
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.migrate import upgrade_async

DAYS = 30
SOURCES = ["weibo", "douyin", "wechat", "xiaohongshu", "news"]
SENTIMENTS = ["negative", "neutral", "positive"]

DASHBOARD = """
query($since: DateTime, $until: DateTime, $bucket: TimeBucket!) {
  dashboard(since: $since, until: $until) {
    volume(bucket: $bucket, utcOffsetMinutes: 480) { start total negative averageSentimentScore }
    shareOfVoice { watchlist { name } mentionTotal negativeTotal }
    topAuthors(first: 10) { handle mentionCount reachTotal }
  }
}
"""
PLATFORMS = """
query($since: DateTime, $until: DateTime) {
  dashboard(since: $since, until: $until) {
    platforms { platform mentionTotal positive neutral negative share averageSentimentScore }
    shareOfVoice(kinds: [OWN_BRAND, COMPETITOR]) { watchlist { name } mentionTotal share }
  }
}
"""
AUTHORS = """
query($order: AuthorOrder, $filter: AuthorFilter) {
  authors(first: 20, orderBy: $order, filter: $filter) {
    edges { node { handle mentionCount reachTotal engagementTotal } }
  }
}
"""
STORIES = """
query($watchlistId: ID!) {
  stories(first: 20, watchlistId: $watchlistId) { edges { node { id title mentionCount } } }
}
"""
SEARCH = """
query($text: String!) {
  mentions(first: 20, filter: {textContains: $text}) { edges { node { id } } }
}
"""

RAW_VOLUME = """
SELECT date_bin(interval '{width}', m.posted_at, timestamptz '2000-01-02 16:00+00'),
       count(*), count(*) FILTER (WHERE a.sentiment = 'negative'), avg(a.sentiment_score)
FROM mention m LEFT JOIN mention_analysis a ON a.mention_id = m.id AND a.organization_id = $1
WHERE m.organization_id = $1 AND m.posted_at >= $2 AND m.posted_at < $3
GROUP BY 1
"""
RAW_PLATFORMS = """
SELECT m.source, count(*) FILTER (WHERE a.sentiment = 'positive'),
       count(*) FILTER (WHERE a.sentiment = 'neutral'),
       count(*) FILTER (WHERE a.sentiment = 'negative'), avg(a.sentiment_score)
FROM mention m JOIN mention_analysis a ON a.mention_id = m.id AND a.organization_id = $1
WHERE m.organization_id = $1 AND m.posted_at >= $2 AND m.posted_at < $3
GROUP BY 1
"""
RAW_SHARE = """
SELECT w, count(*), count(*) FILTER (WHERE a.sentiment = 'negative')
FROM mention_analysis a JOIN mention m ON m.id = a.mention_id
CROSS JOIN LATERAL unnest(a.watchlist_ids) w
WHERE a.organization_id = $1 AND m.organization_id = $1 AND m.posted_at >= $2 AND m.posted_at < $3
GROUP BY 1
"""
RAW_AUTHORS = """
SELECT m.author_id, count(*) c, sum(m.views) FROM mention m
LEFT JOIN mention_analysis a ON a.mention_id = m.id AND a.organization_id = $1
WHERE m.organization_id = $1 AND m.author_id IS NOT NULL {window}
GROUP BY 1 ORDER BY c DESC, 1 DESC LIMIT 10
"""
RAW_SEARCH = """
SELECT id FROM mention WHERE organization_id = $1 AND text ILIKE $2
ORDER BY posted_at DESC, id DESC LIMIT 21
"""


def _asyncpg(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(url: str, statement: str) -> None:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    connection = await asyncpg.connect(_asyncpg(admin))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def load(url: str, org: uuid.UUID, mentions: int, authors: int) -> dict[str, Any]:
    """COPY the organization's rows; return the watchlist ids and the load's duration."""
    pick = random.Random(10)
    texts = realistic_texts()
    now = datetime.now(UTC).replace(microsecond=0)
    connection = await asyncpg.connect(_asyncpg(url))
    started = time.perf_counter()
    # A bulk load builds the text index once at the end, not row by row.
    await connection.execute("DROP INDEX ix_mention_text_bigrams")
    try:
        watchlists = [uuid.uuid4() for _ in range(3)]
        await connection.copy_records_to_table(
            "watchlist",
            columns=[
                "id",
                "organization_id",
                "name",
                "keywords",
                "query",
                "created_at",
                "updated_at",
            ],
            records=[
                (w, org, name, [name], name, now, now)
                for w, name in zip(watchlists, ["禾岚", "物流", "门店"], strict=True)
            ],
        )
        author_ids = [uuid.uuid4() for _ in range(authors)]
        await connection.copy_records_to_table(
            "author",
            columns=[
                "id",
                "organization_id",
                "source",
                "handle",
                "followers",
                "verified",
                "kind",
                "updated_at",
            ],
            records=[
                (
                    a,
                    org,
                    "weibo",
                    f"用户{i}",
                    int(pick.paretovariate(1.2) * 100),
                    False,
                    "user",
                    now,
                )
                for i, a in enumerate(author_ids)
            ],
        )
        batch = 50_000
        for first in range(0, mentions, batch):
            rows: list[tuple[Any, ...]] = []
            analyses: list[tuple[Any, ...]] = []
            hits: list[tuple[Any, ...]] = []
            stories: list[tuple[Any, ...]] = []
            # Oldest first, as a live system stores them: the heap follows time.
            for i in range(first, min(first + batch, mentions)):
                mention_id = uuid.uuid4()
                posted_at = now - timedelta(seconds=DAYS * 86400 * (mentions - i) / mentions)
                body = "".join(pick.sample(texts, pick.choice([1, 1, 2])))
                # Authors are skewed: a few post a lot, as on a real platform.
                author = author_ids[min(int(pick.paretovariate(1.1)) - 1, authors - 1)]
                author = author if pick.random() < 0.7 else pick.choice(author_ids)
                views = int(pick.paretovariate(1.0) * 200)
                source = pick.choice(SOURCES)
                rows.append(
                    (mention_id, org, source, f"x{i}", body, uuid.uuid4().hex, posted_at,
                     author, pick.randrange(20), pick.randrange(20), pick.randrange(200),
                     min(views, 2**31 - 1), posted_at + timedelta(seconds=pick.randrange(1, 30)))
                )  # fmt: skip
                if pick.random() < 0.02:
                    continue  # left unanalysed
                sentiment = pick.choice(SENTIMENTS)
                matched = pick.sample(watchlists, pick.choice([0, 0, 1, 1, 2]))
                story = uuid.uuid4() if i % 3 == 0 or not stories else stories[-1][0]
                if story != (stories[-1][0] if stories else None):
                    stories.append(
                        (story, org, body[:50], mention_id, author, 1, posted_at, posted_at, now)
                    )
                analyses.append(
                    (mention_id, org, posted_at, sentiment, pick.uniform(-1, 1), 0.7, [], [],
                     [], matched, [], 0.0, "[]", None, 0.0, [], story, None, pick.random(),
                     False, now)
                )  # fmt: skip
                hits.extend(
                    (w, posted_at, mention_id, org, author, "user", 0, views, 0.0, sentiment,
                     0.0, [], None, [], story, source)
                    for w in matched
                )  # fmt: skip
            await connection.copy_records_to_table(
                "mention",
                columns=["id", "organization_id", "source", "external_id", "text",
                         "content_hash", "posted_at", "author_id", "reposts",
                         "comments", "likes", "views", "ingested_at"],
                records=rows,
            )  # fmt: skip
            await connection.copy_records_to_table(
                "story",
                columns=["id", "organization_id", "title", "first_mention_id", "first_author_id",
                         "mention_count", "started_at", "last_posted_at", "created_at"],
                records=stories,
            )  # fmt: skip
            await connection.copy_records_to_table(
                "mention_analysis",
                columns=["mention_id", "organization_id", "posted_at", "sentiment",
                         "sentiment_score", "sentiment_probability", "sentiment_evidence",
                         "tokens", "hashtags", "watchlist_ids", "matched_keywords",
                         "sensitive_score", "sensitive_hits", "crisis_type",
                         "crisis_confidence", "crisis_evidence", "story_id",
                         "parent_mention_id", "influence", "amplifier", "analyzed_at"],
                records=analyses,
            )  # fmt: skip
            await connection.copy_records_to_table(
                "watchlist_hit",
                columns=["watchlist_id", "posted_at", "mention_id", "organization_id",
                         "author_id", "author_kind", "followers", "views", "influence",
                         "sentiment", "sensitive_score", "sensitive_terms", "crisis_type",
                         "crisis_evidence", "story_id", "source"],
                records=hits,
            )  # fmt: skip
            print(f"  loaded {min(first + batch, mentions):,} mentions", flush=True)
        await connection.execute(
            "CREATE INDEX ix_mention_text_bigrams ON mention USING gin (text_bigrams(text))"
        )
        loaded = time.perf_counter() - started
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return {"watchlists": watchlists, "load_seconds": loaded, "now": now}


async def rebuild(url: str, org: uuid.UUID, now: datetime) -> float:
    """Rebuild the organization's rollups day by day, as `crisiswatch rollups rebuild` does."""
    engine = create_engine(url, pool_size=1)
    started = time.perf_counter()
    try:
        factory = session_factory(engine)
        start, end = rollups.whole_days(now - timedelta(days=DAYS + 1), now + timedelta(hours=1))
        day = start
        while day < end:
            async with transaction(factory) as session:
                await rollups.rebuild_days(session, org, day, day + timedelta(days=1))
            day += timedelta(days=1)
        async with transaction(factory) as session:
            await rollups.rebuild_author_totals(session, org)
    finally:
        await engine.dispose()
    connection = await asyncpg.connect(_asyncpg(url))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - started


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float]:
    """Return p50 and p95 in ms of `repeat` calls after one warm-up."""
    await call()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        seconds.append((time.perf_counter() - started) * 1000)
    return statistics.median(seconds), percentile(seconds, 0.95)


async def measure(
    gateway: str, key: str, url: str, org: uuid.UUID, loaded: dict[str, Any], args: Any
) -> list[tuple[str, str, float, float]]:
    """Each console read through the gateway, and its raw scan on PostgreSQL."""
    now, watchlist = loaded["now"], loaded["watchlists"][0]
    figures: list[tuple[str, str, float, float]] = []
    async with httpx.AsyncClient(base_url=gateway, timeout=120) as client:

        def ask(query: str, variables: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
            async def call() -> Any:
                response = await client.post(
                    "/graphql",
                    json={"query": query, "variables": variables},
                    headers={"Authorization": f"Bearer {key}"},
                )
                body = response.json()
                if body.get("errors"):
                    raise RuntimeError(body["errors"])
                return body

            return call

        connection = await asyncpg.connect(_asyncpg(url))

        def raw(statement: str, *parameters: Any) -> Callable[[], Awaitable[Any]]:
            async def call() -> Any:
                return await connection.fetch(statement, *parameters)

            return call

        from strawberry.relay import GlobalID

        gid = str(GlobalID("Watchlist", str(watchlist)))
        windows = [("24 h", timedelta(hours=24), "HOUR"), ("7 d", timedelta(days=7), "HOUR"),
                   ("30 d", timedelta(days=30), "DAY")]  # fmt: skip
        reads: list[
            tuple[str, Callable[[], Awaitable[Any]], Callable[[], Awaitable[Any]] | None]
        ] = []
        for name, span, bucket in windows:
            since, until = now - span, now
            width = "1 hour" if bucket == "HOUR" else "1 day"
            variables = {"since": since.isoformat(), "until": until.isoformat(), "bucket": bucket}

            async def old_dashboard(
                since: datetime = since, until: datetime = until, width: str = width
            ) -> None:
                await connection.fetch(RAW_VOLUME.format(width=width), org, since, until)
                await connection.fetch(RAW_SHARE, org, since, until)
                await connection.fetch(
                    RAW_AUTHORS.format(window="AND m.posted_at >= $2 AND m.posted_at < $3"),
                    org, since, until,
                )  # fmt: skip

            reads.append((f"dashboard {name}", ask(DASHBOARD, variables), old_dashboard))

            async def old_platforms(since: datetime = since, until: datetime = until) -> None:
                await connection.fetch(RAW_PLATFORMS, org, since, until)
                await connection.fetch(RAW_SHARE, org, since, until)

            window = {"since": since.isoformat(), "until": until.isoformat()}
            reads.append((f"platforms+versus {name}", ask(PLATFORMS, window), old_platforms))
        reads.append(
            ("authors by mention count", ask(AUTHORS, {}), raw(RAW_AUTHORS.format(window=""), org))
        )
        reads.append(
            ("authors by followers", ask(AUTHORS, {"order": {"field": "FOLLOWERS"}}), None)
        )
        reads.append(("stories(watchlistId)", ask(STORIES, {"watchlistId": gid}), None))
        for term in ["结块冲泡", "舆情", "火星移民计划"]:
            reads.append(
                (
                    f"textContains {term}",
                    ask(SEARCH, {"text": term}),
                    raw(RAW_SEARCH, org, f"%{term}%"),
                )
            )
        for name, new, old in reads:
            p50, p95 = await timed(new, args.repeat)
            figures.append((name, "rollups / index", p50, p95))
            print(f"{name:28} now     p50 {p50:9.1f} ms  p95 {p95:9.1f} ms", flush=True)
            if old is not None and args.raw_repeat:
                p50, p95 = await timed(old, args.raw_repeat)
                figures.append((name, "raw scan", p50, p95))
                print(f"{name:28} raw     p50 {p50:9.1f} ms  p95 {p95:9.1f} ms", flush=True)
        await connection.close()
    return figures


async def prepare(args: Any) -> tuple[uuid.UUID, str, dict[str, Any]]:
    """Create, migrate and fill the scratch database; rebuild its rollups."""
    await _admin(args.database_url, f'CREATE DATABASE "{make_url(args.database_url).database}"')
    await upgrade_async(args.database_url)
    org, key = await make_key(args.database_url, "bench", "viewer")
    loaded = await load(args.database_url, org, args.mentions, args.authors)
    print(f"loaded {args.mentions:,} mentions in {loaded['load_seconds']:.0f} s", flush=True)
    seconds = await rebuild(args.database_url, org, loaded["now"])
    print(f"rollups rebuilt from the raw tables in {seconds:.1f} s", flush=True)
    return org, key, loaded


async def reuse(args: Any) -> tuple[uuid.UUID, str, dict[str, Any]]:
    """Read what `prepare` left in a database kept with `--keep`; make a new key."""
    org, key = await make_key(args.database_url, "bench", "viewer")
    connection = await asyncpg.connect(_asyncpg(args.database_url))
    try:
        watchlists = [
            row[0]
            for row in await connection.fetch(
                "SELECT id FROM watchlist WHERE organization_id = $1 ORDER BY name", org
            )
        ]
        now = await connection.fetchval(
            "SELECT max(posted_at) FROM mention WHERE organization_id = $1", org
        )
    finally:
        await connection.close()
    return org, key, {"watchlists": watchlists, "now": now}


def main() -> None:
    """Load, rebuild, measure, print; drop the database unless asked to keep it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--mentions", type=int, default=1_000_000)
    parser.add_argument("--authors", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--raw-repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument(
        "--reuse", action="store_true", help="Measure a database kept by an earlier --keep run."
    )
    args = parser.parse_args()
    name = make_url(args.database_url).database
    try:
        org, key, loaded = asyncio.run(reuse(args) if args.reuse else prepare(args))
        port = free_port()
        env = {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url,
            "GATEWAY_PORT": str(port),
            "RATE_LIMIT_PER_MINUTE": "0",
            "RATE_LIMIT_PER_ORGANIZATION_PER_MINUTE": "0",
            "RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0",
            "GRAPHQL_COST_PER_MINUTE": "0",
            "STATEMENT_TIMEOUT_GATEWAY_SECONDS": "0",
            "CRISISWATCH_DATA_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        }
        with services(env, ["serve", "gateway"]):
            gateway = f"http://127.0.0.1:{port}"
            wait_http(gateway)
            asyncio.run(measure(gateway, key, args.database_url, org, loaded, args))
    finally:
        if not args.keep:
            asyncio.run(_admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
