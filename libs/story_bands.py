"""Quiet stories give back their near-duplicate band keys after a while.

A story claims about 40 LSH band keys (`services.analysis.stories`) so that a later copy of
its text finds it by equality on an index. Kept for ever they are the largest thing stored
per mention (13 rows per mention, about 1.7 kB with their indexes; docs/scale.md), yet
they only matter while copies still arrive: a text copied again after a month of silence is
news again, and starting a new story for it is what an analyst would expect. So once a
story has had no new post for `RETENTION_STORY_BANDS_DAYS` its keys are deleted. The story,
its members and their analyses stay; a repost still joins it through its parent
(`repost_of`), which does not use the keys.

Each organization keeps how far back this has gone (`organization.story_bands_released_until`),
so a pass reads only the stories that went quiet since the last one, through
`ix_story_org_last_posted`, in batches that each commit their progress.
"""

import uuid
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction

BATCH = 500
"""Stories per transaction: about 20 000 band rows, each found through `story_band.story_id`."""

_SINCE = text("SELECT story_bands_released_until FROM organization WHERE id = :org")
_QUIET = text(
    "SELECT id, last_posted_at FROM story WHERE organization_id = :org "
    "AND last_posted_at < :cutoff AND (last_posted_at, id) > (:after_at, :after_id) "
    "ORDER BY last_posted_at, id LIMIT :batch"
)
_RELEASE = text("DELETE FROM story_band WHERE story_id = ANY(CAST(:ids AS uuid[]))")
_MARK = text("UPDATE organization SET story_bands_released_until = :at WHERE id = :org")
_EPOCH = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


async def release_quiet_bands(
    sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID, cutoff: datetime
) -> int:
    """Delete the band keys of the organization's stories quiet since before `cutoff`.

    Returns how many keys went. Rerunnable: an interrupted pass resumes from the last
    committed batch, and a story seen twice (a tie at a batch's edge) deletes nothing more.
    """
    async with sessions() as session:
        since = (await session.exec(_SINCE, params={"org": organization_id})).scalar_one_or_none()  # type: ignore[call-overload]
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
                result = await session.exec(_RELEASE, params={"ids": [r[0] for r in rows]})  # type: ignore[call-overload]
                released += int(result.rowcount or 0)
                after_id, after_at = rows[-1][0], rows[-1][1]
            done = len(rows) < BATCH
            await session.exec(
                _MARK,  # type: ignore[call-overload]
                params={"org": organization_id, "at": cutoff if done else after_at},
            )
        if done:
            return released
