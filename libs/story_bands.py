"""Near-duplicate band keys in two tiers, and quiet stories giving them back.

A story claims about 40 LSH band keys (`services.analysis.stories`) so that a later copy of
its text finds it by equality on an index. Each batch of analyses looks up its mentions'
keys, a thousand random ones, and at 10 M mentions a single index of every key of the last
month was 1.3 GB: most of those lookups read a leaf that was not in memory, and the live
path was a quarter slower than on an empty database (docs/scale.md#two-tiers-of-band-keys).

So the keys live in two tables, chosen by the key's own value (`is_lasting`):

- `story_band` holds a quarter of each story's keys (those divisible by `LASTING_SHARE`)
  until the story has had no new post for `RETENTION_STORY_BANDS_DAYS`;
- `story_band_recent` holds the other three quarters only until the story has been quiet
  for `RETENTION_STORY_BANDS_RECENT_HOURS`.

A story still being copied is found through all its keys, exactly as before; one quiet for
a day through ten on average, which still finds a copy at a Jaccard similarity of 0.6 nine
times in ten (docs/scale.md#two-tiers-of-band-keys). A copy that finds a story through its
long-kept keys alone gives the story its recent keys back (`revived_bands` in
`services.analysis.story_assignment`), so a story
posted to again is whole again. The lookups a batch makes in
the month-long table fall to a quarter, in an index a quarter the size; the rest go to one
that holds a day of stories and stays in memory. Chosen by value rather than by band
position, a stored key needs nothing else to say its tier, so existing keys were split in
place (migration 0033), and a lookup knows where to look from the key alone.

After the last window a copy of the text starts a new story: a text copied again after a
month of silence is news again. The story, its members and their analyses stay; a repost
still joins it through its parent (`repost_of`), which does not use the keys.

"Quiet" is counted on the organization's own clock: the latest post time among its stories
(never later than now). Live, that is now; a stream pushed with posts from days ago (a
replay, an import) keeps its stories' keys while its own posts keep coming, instead of
losing them at the next pass because their post times are old.

The long tier's pass reads only the stories that went quiet since the last one (each
organization keeps how far back it has gone, `organization.story_bands_released_until`),
through `ix_story_org_last_posted`, in batches that each commit their progress. The recent
tier's pass needs no mark: it reads the stories its own table holds keys for, about a
day's, so a story started behind the clock (a late crawl, a backfill) or given its keys
back is released too.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction

LASTING_SHARE = 4
"""One key in this many is kept for the long window: a key `k` with `k % 4 == 0`.

The keys are the output of a bijective 64-bit mixer, so their residues are uniform; `%`
agrees between Python and PostgreSQL on which keys give 0, negative ones included.
"""

BATCH = 500
"""Stories per transaction: up to 20 000 band rows, each found through its `story_id` index."""


def is_lasting(key: int) -> bool:
    """Say whether a band key belongs in `story_band` (kept long) or `story_band_recent`."""
    return key % LASTING_SHARE == 0


_CLOCK = text("SELECT max(last_posted_at) FROM story WHERE organization_id = :org")
_QUIET = text(
    "SELECT id, last_posted_at FROM story WHERE organization_id = :org "
    "AND last_posted_at < :cutoff AND (last_posted_at, id) > (:after_at, :after_id) "
    "ORDER BY last_posted_at, id LIMIT :batch"
)
_SINCE = text("SELECT story_bands_released_until FROM organization WHERE id = :org")
_RELEASE = [
    text(f"DELETE FROM {table} WHERE story_id = ANY(CAST(:ids AS uuid[]))")
    for table in ("story_band", "story_band_recent")  # the recent tier's alone: the last
]
_MARK = text("UPDATE organization SET story_bands_released_until = :at WHERE id = :org")
_EPOCH = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


async def organization_clock(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, now: datetime
) -> datetime | None:
    """The organization's latest story post, capped at `now`; None when it has no stories."""
    async with sessions() as session:
        result = await session.exec(_CLOCK, params={"org": organization_id})  # type: ignore[call-overload]
        latest: datetime | None = result.scalar_one()
    return None if latest is None else min(latest, now)


async def release_quiet_bands(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    quiet: timedelta,
    clock: datetime,
) -> int:
    """Delete both tiers' band keys of the organization's stories quiet longer than `quiet`.

    After the long window every key goes: a recent key too, if the recent window is longer.

    Returns how many keys went. Rerunnable: an interrupted pass resumes from the last
    committed batch, and a story seen twice (a tie at a batch's edge) deletes nothing more.
    """
    cutoff = clock - quiet
    async with sessions() as session:
        found = await session.exec(_SINCE, params={"org": organization_id})  # type: ignore[call-overload]
        since: datetime | None = found.scalar_one_or_none()
    after_at: datetime = since or _EPOCH
    after_id = uuid.UUID(int=0)
    if after_at >= cutoff:
        return 0
    released = 0
    while True:
        async with transaction(sessions) as session:
            rows = (
                await session.exec(
                    _QUIET,  # type: ignore[call-overload]
                    params={
                        "org": organization_id,
                        "cutoff": cutoff,
                        "after_at": after_at,
                        "after_id": after_id,
                        "batch": BATCH,
                    },
                )
            ).all()
            if rows:
                for release in _RELEASE:
                    result = await session.exec(release, params={"ids": [r[0] for r in rows]})  # type: ignore[call-overload]
                    released += int(result.rowcount or 0)
                after_id, after_at = rows[-1][0], rows[-1][1]
            done = len(rows) < BATCH
            await session.exec(
                _MARK,  # type: ignore[call-overload]
                params={"org": organization_id, "at": cutoff if done else after_at},
            )
        if done:
            return released


_HOLDERS = text("SELECT DISTINCT story_id FROM story_band_recent WHERE organization_id = :org")
_QUIET_HOLDERS = text(
    "SELECT id FROM story WHERE id = ANY(CAST(:ids AS uuid[])) AND last_posted_at < :cutoff"
)


async def release_quiet_recent_bands(
    sessions: async_sessionmaker[AsyncSession],
    organization_id: uuid.UUID,
    quiet: timedelta,
    clock: datetime,
) -> int:
    """Delete the recent-tier keys of the organization's stories quiet for longer than `quiet`.

    Reads the stories the recent table holds keys for (a day's, a few tens of thousands at
    10 M mentions) and deletes the quiet ones' keys, `BATCH` stories a transaction. A story
    posted to between the read and its delete loses keys it would have kept; the next copy
    that finds it through its long-kept quarter gives them back.
    """
    async with sessions() as session:
        holders = [r[0] for r in await session.exec(_HOLDERS, params={"org": organization_id})]  # type: ignore[call-overload]
    released = 0
    for start in range(0, len(holders), BATCH):
        async with transaction(sessions) as session:
            quiet_ids = [
                r[0]
                for r in await session.exec(
                    _QUIET_HOLDERS,  # type: ignore[call-overload]
                    params={"ids": holders[start : start + BATCH], "cutoff": clock - quiet},
                )
            ]
            if quiet_ids:
                result = await session.exec(_RELEASE[-1], params={"ids": quiet_ids})  # type: ignore[call-overload]
                released += int(result.rowcount or 0)
    return released
