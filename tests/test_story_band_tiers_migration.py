"""Migration 0033 splits stored band keys into their tiers in place (`libs.story_bands`).

A database at 0032 holds every key of every story in `story_band`. After the upgrade the
long-kept quarter stays there, the rest of each story posted to in its organization's last
day moves to `story_band_recent`, and a quieter story's rest is gone, as the live pass would
have left them.
"""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
from alembic import command
from sqlalchemy.engine import make_url

from libs.database.migrate import alembic_config, upgrade
from libs.story_bands import is_lasting

CLOCK = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the organization's latest post
QUIET = {"latest": timedelta(0), "hours": timedelta(hours=2), "days": timedelta(days=3)}


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _store(url: str) -> dict[str, uuid.UUID]:
    """At 0032: an organization with three stories of 40 keys each, and one without stories."""
    conn = await asyncpg.connect(_dsn(url))
    try:
        org, bare = uuid.uuid4(), uuid.uuid4()
        for organization in (org, bare):
            await conn.execute(
                "INSERT INTO organization (id, slug, name, time_zone, created_at) "
                "VALUES ($1, $2, $2, 'Asia/Shanghai', now())",
                organization,
                f"org-{organization.hex[:12]}",
            )
        stories = {}
        for n, (name, quiet) in enumerate(QUIET.items()):
            posted = CLOCK - quiet
            mention, story = uuid.uuid4(), uuid.uuid4()
            await conn.execute(
                "INSERT INTO mention (id, organization_id, source, external_id, text,"
                " content_hash, posted_at, reposts, comments, likes, views, ingested_at)"
                " VALUES ($1, $2, 'weibo', $3, '奶粉结块', $3, $4, 0, 0, 0, 0, $4)",
                mention,
                org,
                name,
                posted,
            )
            await conn.execute(
                "INSERT INTO story (id, organization_id, title, first_mention_id, mention_count,"
                " started_at, last_posted_at, created_at)"
                " VALUES ($1, $2, '结块', $3, 1, $4, $4, $4)",
                story,
                org,
                mention,
                posted,
            )
            await conn.executemany(
                "INSERT INTO story_band (organization_id, band_key, story_id) VALUES ($1, $2, $3)",
                [(org, key, story) for key in range(100 * n - 20, 100 * n + 20)],
            )
            stories[name] = story
        return {"org": org, "bare": bare, **stories}
    finally:
        await conn.close()


async def _read(url: str, query: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(_dsn(url))
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


def _keys(rows: list[asyncpg.Record]) -> dict[uuid.UUID, set[int]]:
    found: dict[uuid.UUID, set[int]] = {}
    for row in rows:
        found.setdefault(row["story_id"], set()).add(row["band_key"])
    return found


def test_the_upgrade_splits_stored_keys_into_their_tiers(unmigrated_database: str) -> None:
    url = unmigrated_database
    upgrade(url, "0032")
    ids = asyncio.run(_store(url))
    upgrade(url, "0033")

    select = "SELECT story_id, band_key FROM {}"
    lasting = _keys(asyncio.run(_read(url, select.format("story_band"))))
    recent = _keys(asyncio.run(_read(url, select.format("story_band_recent"))))
    for n, name in enumerate(QUIET):
        keys = set(range(100 * n - 20, 100 * n + 20))
        assert lasting[ids[name]] == {k for k in keys if is_lasting(k)}
        if name == "days":
            assert ids[name] not in recent
        else:
            assert recent[ids[name]] == {k for k in keys if not is_lasting(k)}
    # Back down, the keys that were kept are in one table again.
    command.downgrade(alembic_config(url), "0032")
    back = _keys(asyncio.run(_read(url, select.format("story_band"))))
    assert {name: len(back[ids[name]]) for name in QUIET} == {"latest": 40, "hours": 40, "days": 10}
