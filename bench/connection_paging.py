"""Paging and `totalCount` of the mention list at millions of rows, with the gateway's own SQL.

Stores `--rows` mentions of one organization (and a tenth as many of another) in the real
`mention` table of a migrated database, ANALYZEs it, then times, best of `--runs`: the
first page, the last page (`last`), a page after and a page before a cursor in the middle,
and `totalCount` (exact up to the bound, the planner's estimate above it) unfiltered,
filtered to a tenth (`source`) and to a few hundred rows (`since`), each beside a plain
`count(*)` of the same rows. The pages and counts are built by `MENTION_LIST` and
`gateway.core` exactly as the GraphQL field builds them; no HTTP, no GraphQL execution.

    .venv/bin/python bench/connection_paging.py --rows 10000000
    .venv/bin/python bench/connection_paging.py --rows 1000000 --database-url postgresql://postgres@127.0.0.1:5432/postgres
"""

import argparse
import asyncio
import functools
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from harness import dsn, embedded_servers
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from gateway.config import DEFAULT_EXACT_COUNT_BOUND
from gateway.core.counting import count_rows, counted_rows
from gateway.core.filters import Scope
from gateway.core.pagination import PageRequest, encode_cursor, fetch_ordered_page
from gateway.mentions.queries import MENTION_LIST, MentionFilter
from libs.contracts.enums import Source
from libs.database.migrate import upgrade

NOW = datetime(2026, 11, 21, tzinfo=UTC)


@contextmanager
def scratch_database(admin_url: str | None) -> Iterator[str]:
    """Yield the URL of a migrated database: a new one on `admin_url`'s server, or embedded."""
    if admin_url is None:
        with embedded_servers("cwb-") as (pg, _):
            yield pg.url
        return
    name = f"crisiswatch_bench_{secrets.token_hex(4)}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


async def _admin(url: str, statement: str) -> None:
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def store(url: str, rows: int) -> tuple[uuid.UUID, float]:
    """Store `rows` mentions of one organization, a tenth as many of another; ANALYZE."""
    organization, other = uuid.uuid4(), uuid.uuid4()
    connection = await asyncpg.connect(dsn(url))
    started = time.perf_counter()
    try:
        for org, slug, count in ((organization, "bench", rows), (other, "other", rows // 10)):
            await connection.execute(
                "INSERT INTO organization (id, slug, name, created_at) VALUES ($1, $2, $2, now())",
                org,
                slug,
            )
            # One mention a second back from NOW, a tenth of them from Douyin.
            await connection.execute(
                """
                INSERT INTO mention (id, organization_id, source, external_id, text,
                    content_hash, posted_at, reposts, comments, likes, views,
                    ingested_at)
                SELECT gen_random_uuid(), $1, CASE WHEN n % 10 = 0 THEN 'douyin' ELSE 'weibo' END,
                    'e' || n, '奶粉有问题 ' || n, md5(n::text),
                    $2::timestamptz - n * interval '1 second',
                    n % 7, n % 5, n % 11, n % 1000, $2::timestamptz
                FROM generate_series(1, $3) AS n
                """,
                org,
                NOW,
                count,
            )
        await connection.execute("ANALYZE mention")
    finally:
        await connection.close()
    return organization, time.perf_counter() - started


async def best(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Return the fastest of `runs` timings of `work` in ms, and its last result."""
    timings, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        timings.append((time.perf_counter() - started) * 1000)
    return min(timings), result


async def measure(url: str, organization: uuid.UUID, rows: int, runs: int, bound: int) -> None:
    engine = create_async_engine(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    scope = Scope(organization, NOW)
    lists = {
        "all mentions": MENTION_LIST.select(scope, None, None),
        "source: DOUYIN (a tenth)": MENTION_LIST.select(
            scope, MentionFilter(source=Source.DOUYIN), None
        ),
        "since: the last 5 minutes": MENTION_LIST.select(
            scope, MentionFilter(since=NOW - timedelta(minutes=5)), None
        ),
    }
    statement, ordering = lists["all mentions"]
    async with engine.connect() as connection:
        database: AsyncConnection = await connection.execution_options(isolation_level="AUTOCOMMIT")

        async def page(request: PageRequest) -> Any:
            return await fetch_ordered_page(
                database,
                statement,
                kind=MENTION_LIST.kind,
                ordering=ordering,
                id_column=MENTION_LIST.id_column,
                request=request,
                check_far_side=True,
            )

        # The bench's own way to a row in the middle (OFFSET, once); clients get cursors.
        middle = (
            await database.execute(
                text(
                    "SELECT posted_at, id FROM mention WHERE organization_id = :org "
                    "ORDER BY posted_at DESC, id DESC OFFSET :half LIMIT 1"
                ),
                {"org": organization, "half": rows // 2},
            )
        ).one()
        cursor = encode_cursor(MENTION_LIST.kind, ordering, middle.posted_at, middle.id)
        print(f"page timings (best of {runs}, ms; 20 rows, pageInfo both ways checked):")
        for label, request in (
            ("first: 20", PageRequest(20)),
            ("last: 20", PageRequest(20, backward=True)),
            ("first: 20 after the middle row", PageRequest(20, after=cursor)),
            ("last: 20 before the middle row", PageRequest(20, backward=True, before=cursor)),
        ):
            ms, shown = await best(runs, functools.partial(page, request))
            flags = f"previous={shown.has_previous_page} next={shown.has_next_page}"
            print(f"  {label:<42} {ms:8.2f}  {flags}")
        print(f"totalCount (bound {bound:,}; best of {runs}, ms) against count(*):")
        for label, (filtered, _) in lists.items():
            ms, total = await best(runs, functools.partial(count_rows, database, filtered, bound))
            exact_query = select(func.count()).select_from(counted_rows(filtered).subquery())
            exact_ms, exact = await best(runs, functools.partial(database.execute, exact_query))
            real = exact.scalar_one()
            kind = "exact" if total.exact else "estimate"
            error = abs(total.value - real) / real * 100 if real else 0.0
            print(
                f"  {label:<28} totalCount {total.value:>11,} ({kind}, {error:4.1f}% off) "
                f"{ms:8.2f}   count(*) {real:>11,} {exact_ms:9.2f}"
            )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bound", type=int, default=DEFAULT_EXACT_COUNT_BOUND)
    parser.add_argument("--database-url", help="a server's admin URL; embedded when not given")
    arguments = parser.parse_args()
    with scratch_database(arguments.database_url) as url:
        organization, seconds = asyncio.run(store(url, arguments.rows))
        print(f"stored {arguments.rows:,} + {arguments.rows // 10:,} mentions in {seconds:.0f} s")
        asyncio.run(measure(url, organization, arguments.rows, arguments.runs, arguments.bound))


if __name__ == "__main__":
    main()
