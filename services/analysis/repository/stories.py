"""Stories: the band-key index, new stories, member counts, locks and repost parents."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Story
from libs.story_bands import is_lasting
from services.analysis.repository.rows import StoryRow, row_values
from services.analysis.stories import Signature
from services.analysis.story_assignment import StoryIndex


@dataclass(frozen=True)
class StoryMember:
    """A mention a batch stored in a story: what the story's count and first post depend on."""

    story_id: uuid.UUID
    mention_id: uuid.UUID
    author_id: uuid.UUID | None
    posted_at: datetime


async def parents_by_external_id(
    session: AsyncSession, organization_id: uuid.UUID, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID | None]]:
    """Map (source, external id) of reposted posts to (mention id, story id) where stored.

    Each pair is looked up through the unique (organization, source, external id) index;
    matching the external ids alone left PostgreSQL no index to use, and at ten million
    mentions every batch with a repost scanned the organization's mentions (1.7 s).
    """
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    result = await session.exec(
        text(
            """
            SELECT m.source, m.external_id, m.id, a.story_id
            FROM unnest(CAST(:sources AS text[]), CAST(:external_ids AS text[]))
                 AS k(source, external_id)
            JOIN mention m ON m.organization_id = :organization_id
                          AND m.source = k.source AND m.external_id = k.external_id
            LEFT JOIN mention_analysis a ON a.mention_id = m.id
            """
        ),  # type: ignore[call-overload]
        params={
            "organization_id": organization_id,
            "sources": [s for s, _ in wanted],
            "external_ids": [e for _, e in wanted],
        },
    )
    found = {(s, e): (i, story) for s, e, i, story in result}
    return {key: found[key] for key in wanted if key in found}


async def story_index(
    session: AsyncSession, organization_id: uuid.UUID, keys: Iterable[int]
) -> StoryIndex:
    """Load the stories owning any of `keys`, with their representative signatures.

    Each key is looked up in the one tier its value puts it in (`libs.story_bands`): a
    quarter in the month-long `story_band`, the rest in the day-long `story_band_recent`.
    """
    index = StoryIndex()
    wanted = sorted(set(keys))
    if not wanted:
        return index
    # Array parameters rather than IN lists: a batch looks up a thousand keys.
    result = await session.exec(
        text(
            """
            SELECT b.band_key, b.story_id, s.signature
            FROM (
                SELECT band_key, story_id FROM story_band
                WHERE organization_id = :organization_id
                  AND band_key = ANY(CAST(:lasting AS bigint[]))
                UNION ALL
                SELECT band_key, story_id FROM story_band_recent
                WHERE organization_id = :organization_id
                  AND band_key = ANY(CAST(:recent AS bigint[]))
            ) b JOIN story s ON s.id = b.story_id
            """
        ),  # type: ignore[call-overload]
        params={
            "organization_id": organization_id,
            "lasting": [k for k in wanted if is_lasting(k)],
            "recent": [k for k in wanted if not is_lasting(k)],
        },
    )
    for key, story_id, signature in result:
        index.bands[key] = story_id
        if signature is not None:
            index.signatures.setdefault(story_id, Signature.from_bytes(signature))
    return index


async def insert_stories(session: AsyncSession, rows: Sequence[StoryRow]) -> None:
    """Insert the stories a batch started (with title and first author)."""
    if rows:
        await session.exec(insert(Story).values([row_values(row) for row in rows]))


async def claim_bands(
    session: AsyncSession, organization_id: uuid.UUID, bands: Iterable[tuple[int, uuid.UUID]]
) -> set[int]:
    """Give each unclaimed band key to its story; return the keys this call claimed.

    A key already owned stays with its owner. A key another transaction claimed and has not
    committed makes this statement wait for it (the unique index), and is not claimed here
    if that transaction commits. Keys go in one order, the long-kept tier's sorted then the
    recent tier's sorted, so two calls wait in one direction. A batch that claims twice (a
    placement retried, a quiet story's keys revived after its new stories') can still meet
    another in the opposite order; PostgreSQL then aborts one, which is retried as transient. One
    `unnest` statement a tier: a batch carries dozens of keys per mention, and a multi-row
    VALUES list of that size costs more to build than to run.
    """
    rows = sorted({key: story for key, story in bands}.items())
    won: set[int] = set()
    for table, lasting in (("story_band", True), ("story_band_recent", False)):
        tier = [(k, s) for k, s in rows if is_lasting(k) == lasting]
        if not tier:
            continue
        result = await session.exec(
            text(
                f"""
                INSERT INTO {table} (organization_id, band_key, story_id)
                SELECT :organization_id, k, s
                FROM unnest(CAST(:keys AS bigint[]), CAST(:stories AS uuid[])) AS t(k, s)
                ON CONFLICT DO NOTHING
                RETURNING band_key
                """
            ),  # type: ignore[call-overload]
            params={
                "organization_id": organization_id,
                "keys": [k for k, _ in tier],
                "stories": [s for _, s in tier],
            },
        )
        won |= {key for (key,) in result}
    return won


async def delete_stories(session: AsyncSession, story_ids: Sequence[uuid.UUID]) -> None:
    """Delete stories this transaction started and nothing refers to yet, with their keys."""
    if story_ids:
        await session.exec(
            text("DELETE FROM story WHERE id = ANY(CAST(:ids AS uuid[]))"),  # type: ignore[call-overload]
            params={"ids": list(story_ids)},
        )


async def lock_stories(session: AsyncSession, story_ids: Iterable[uuid.UUID]) -> None:
    """Lock stories in id order, as an update that changes no key does (FOR NO KEY UPDATE).

    One UPDATE of several stories locks them in whatever order its plan reads them; two
    batches updating the same two stories could each hold one and wait for the other.
    Locking first, in one order, makes them queue instead. The mode does not conflict with
    the share locks that rows referencing a story take (FOR KEY SHARE), so inserting
    analyses of a story never waits for a batch counting it.
    """
    ids = sorted(set(story_ids))
    if ids:
        await session.exec(
            text(
                "SELECT id FROM story WHERE id = ANY(CAST(:ids AS uuid[])) "
                "ORDER BY id FOR NO KEY UPDATE"
            ),  # type: ignore[call-overload]
            params={"ids": ids},
        )


async def update_stories(session: AsyncSession, members: Sequence[StoryMember]) -> None:
    """Count new members and move each story's first post (首发) if an earlier one arrived.

    The stories are locked first, in id order (`lock_stories`).
    """
    if not members:
        return
    await lock_stories(session, {m.story_id for m in members})
    await session.exec(
        text(
            """
            WITH m AS (
                SELECT * FROM unnest(
                    CAST(:story_ids AS uuid[]), CAST(:mention_ids AS uuid[]),
                    CAST(:author_ids AS uuid[]), CAST(:posted AS timestamptz[])
                ) AS t(story_id, mention_id, author_id, posted_at)
            ),
            agg AS (
                SELECT story_id, count(*) AS n, max(posted_at) AS last_at,
                       (array_agg(mention_id ORDER BY posted_at, mention_id))[1] AS first_id,
                       (array_agg(author_id ORDER BY posted_at, mention_id))[1] AS first_author,
                       min(posted_at) AS first_at
                FROM m GROUP BY story_id
            )
            UPDATE story s SET
                mention_count = s.mention_count + agg.n,
                last_posted_at = greatest(s.last_posted_at, agg.last_at),
                first_mention_id = CASE WHEN agg.first_at < s.started_at
                                        THEN agg.first_id ELSE s.first_mention_id END,
                first_author_id = CASE WHEN agg.first_at < s.started_at
                                       THEN agg.first_author ELSE s.first_author_id END,
                started_at = least(s.started_at, agg.first_at)
            FROM agg WHERE s.id = agg.story_id
            """
        ),  # type: ignore[call-overload]
        params={
            "story_ids": [m.story_id for m in members],
            "mention_ids": [m.mention_id for m in members],
            "author_ids": [m.author_id for m in members],
            "posted": [m.posted_at for m in members],
        },
    )


async def chain_parents(
    session: AsyncSession,
    organization_id: uuid.UUID,
    wanted: Iterable[tuple[uuid.UUID, str]],
) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """Find, per (story, handle), that author's latest analysed mention in the story."""
    pairs = sorted(set(wanted), key=lambda p: (str(p[0]), p[1]))
    if not pairs:
        return {}
    result = await session.exec(
        text(
            """
            SELECT DISTINCT ON (a.story_id, au.handle) a.story_id, au.handle, a.mention_id
            FROM mention_analysis a
            JOIN mention m ON m.id = a.mention_id
            JOIN author au ON au.id = m.author_id
            WHERE a.organization_id = :organization_id
              AND (a.story_id, au.handle) IN (
                  SELECT * FROM unnest(CAST(:story_ids AS uuid[]), CAST(:handles AS text[])))
            ORDER BY a.story_id, au.handle, m.posted_at DESC
            """
        ),  # type: ignore[call-overload]
        params={
            "organization_id": organization_id,
            "story_ids": [p[0] for p in pairs],
            "handles": [p[1] for p in pairs],
        },
    )
    return {(row.story_id, row.handle): row.mention_id for row in result}
