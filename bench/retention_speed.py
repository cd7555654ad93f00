"""How fast retention deletes mentions, with and without the foreign-key indexes.

Runs on a copy of a database `scale.py` loaded (`--source`), so the load is not spent:
deletes the oldest `--mentions` mentions of its organization through the retention pass's
own function (`libs.mention_retention.delete_mentions_before`, batched over
`ix_mention_org_posted`, every reference following by its foreign key), and reports
mentions per second. Then, on a second copy without the indexes migration 0011 added,
deletes `--unindexed` mentions the same way, for the figure before.

    .venv/bin/python bench/retention_speed.py --source crisiswatch_scale --mentions 126000
"""

import argparse
import asyncio
import os
import time
import uuid
from datetime import datetime

import asyncpg
from harness import dsn
from scale_data import LOADED_TABLES
from sqlalchemy.engine import make_url

from libs.database.engine import create_engine, session_factory
from libs.mention_retention import delete_mentions_before

# The indexes migration 0011 added under foreign keys a mention's deletion goes through.
ADDED = (
    "ix_story_first_mention_id",
    "ix_story_band_story_id",
    "ix_watchlist_hit_mention_id",
    "ix_risk_signal_story_id",
    "ix_reply_case_mention_id",
)


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


async def oldest(url: str, count: int) -> tuple[uuid.UUID, datetime, int]:
    """The organization holding most mentions, the cutoff past its `count` oldest, and how
    many mentions are before it."""
    conn = await asyncpg.connect(dsn(url))
    try:
        org = await conn.fetchval(
            "SELECT organization_id FROM mention GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        )
        cutoff = await conn.fetchval(
            "SELECT posted_at FROM mention WHERE organization_id = $1 "
            "ORDER BY posted_at OFFSET $2 LIMIT 1",
            org,
            count,
        )
        before = await conn.fetchval(
            "SELECT count(*) FROM mention WHERE organization_id = $1 AND posted_at < $2",
            org,
            cutoff,
        )
    finally:
        await conn.close()
    return org, cutoff, int(before)


async def timed_delete(url: str, count: int) -> tuple[int, float, dict[str, int]]:
    """Delete the oldest `count` mentions; return (deleted, seconds, rows gone per table)."""
    organization_id, cutoff, _ = await oldest(url, count)
    conn = await asyncpg.connect(dsn(url))
    tables = [t for t in LOADED_TABLES if t != "author"]  # authors stay
    try:
        counts = {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in tables}
    finally:
        await conn.close()
    engine = create_engine(url, pool_size=1)
    try:
        started = time.monotonic()
        deleted = await delete_mentions_before(session_factory(engine), organization_id, cutoff)
        seconds = time.monotonic() - started
    finally:
        await engine.dispose()
    conn = await asyncpg.connect(dsn(url))
    try:
        gone = {
            t: counts[t] - int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in tables
        }
    finally:
        await conn.close()
    return deleted, seconds, gone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
    )
    parser.add_argument("--source", default="crisiswatch_scale")
    parser.add_argument("--mentions", type=int, default=126_000)
    parser.add_argument("--unindexed", type=int, default=500)
    args = parser.parse_args()
    copy = f"{args.source}_retention"

    for label, count, drop in (
        ("with the foreign-key indexes", args.mentions, False),
        ("without them (before 0011)", args.unindexed, True),
    ):
        asyncio.run(
            _admin(
                args.database_url,
                f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)',
                f'CREATE DATABASE "{copy}" TEMPLATE "{args.source}"',
            )
        )
        url = with_database(args.database_url, copy)
        try:
            if drop:
                asyncio.run(_admin(url, *(f"DROP INDEX IF EXISTS {name}" for name in ADDED)))
            asyncio.run(_admin(url, "VACUUM ANALYZE"))
            deleted, seconds, gone = asyncio.run(timed_delete(url, count))
            print(
                f"{label:<30} {deleted:>8,} mentions in {seconds:8.1f} s = "
                f"{deleted / seconds:8,.0f} mentions/s; rows gone: {gone}"
            )
        finally:
            asyncio.run(_admin(args.database_url, f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
