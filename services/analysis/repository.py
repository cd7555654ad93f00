"""Queries of the analysis service: one per step, so a batch costs a fixed number of trips."""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import text, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import CrisisType, SensitiveCategory
from libs.database.tables import (
    Mention,
    MentionAnalysis,
    SensitiveTerm,
    Story,
    Watchlist,
)
from services.analysis.analyzer import OrgConfig, WatchlistSpec
from services.analysis.influence import KOL_THRESHOLD
from services.analysis.risk import (
    BASELINE_WINDOWS,
    WINDOW,
    StoryStats,
    WindowStats,
    window_bounds,
)
from services.analysis.sensitive import TermOverride
from services.analysis.stories import Signature
from services.analysis.story_assignment import NewStory, StoryIndex
from services.analysis.window import NAMED, TOP_MENTIONS, window_index


@dataclass(frozen=True)
class PendingMention:
    """A stored mention that has no analysis yet, with its author."""

    id: uuid.UUID
    text_normalized: str
    source: str
    posted_at: datetime
    repost_of: str | None
    reposts: int
    comments: int
    likes: int
    views: int
    author_id: uuid.UUID | None
    handle: str | None
    followers: int
    verified: bool
    kind: str


async def pending_mentions(
    session: AsyncSession, organization_id: uuid.UUID, mention_ids: Sequence[uuid.UUID]
) -> list[PendingMention]:
    """Load the organization's mentions among `mention_ids` that were never analysed."""
    result = await session.exec(
        text(
            """
            SELECT m.id, m.text_normalized, m.source, m.posted_at, m.repost_of, m.reposts,
                   m.comments, m.likes, m.views, a.id AS author_id, a.handle,
                   coalesce(a.followers, 0) AS followers, coalesce(a.verified, false) AS verified,
                   coalesce(a.kind, 'user') AS kind
            FROM mention m
            LEFT JOIN author a ON a.id = m.author_id
            WHERE m.organization_id = :organization_id
              AND m.id = ANY(CAST(:ids AS uuid[]))
              AND NOT EXISTS (SELECT 1 FROM mention_analysis x WHERE x.mention_id = m.id)
            ORDER BY m.posted_at, m.id
            """
        ),  # type: ignore[call-overload]
        params={"organization_id": organization_id, "ids": list(mention_ids)},
    )
    return [PendingMention(*row) for row in result]


async def org_config(session: AsyncSession, organization_id: uuid.UUID) -> OrgConfig:
    """Load what analysis of this organization depends on: rules and lexicon changes."""
    watchlists = await session.exec(
        select(Watchlist.id, Watchlist.query, Watchlist.keywords)
        .where(Watchlist.organization_id == organization_id)
        .order_by(col(Watchlist.id))
    )
    terms = await session.exec(
        select(SensitiveTerm.term, SensitiveTerm.category, SensitiveTerm.weight)
        .where(SensitiveTerm.organization_id == organization_id)
        .order_by(col(SensitiveTerm.term))
    )
    return OrgConfig(
        watchlists=tuple(WatchlistSpec(id=i, query=q, keywords=tuple(k)) for i, q, k in watchlists),
        overrides=tuple(
            TermOverride(term=t, category=SensitiveCategory(c), weight=w) for t, c, w in terms
        ),
    )


async def watchlists(session: AsyncSession, organization_id: uuid.UUID) -> list[Watchlist]:
    """Load every watchlist of the organization."""
    result = await session.exec(
        select(Watchlist)
        .where(Watchlist.organization_id == organization_id)
        .order_by(col(Watchlist.id))
    )
    return list(result.all())


async def parents_by_external_id(
    session: AsyncSession, organization_id: uuid.UUID, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[uuid.UUID, uuid.UUID | None]]:
    """Map (source, external id) of reposted posts to (mention id, story id) where stored."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    result = await session.exec(
        select(Mention.source, Mention.external_id, Mention.id, MentionAnalysis.story_id)
        .outerjoin(MentionAnalysis, col(MentionAnalysis.mention_id) == col(Mention.id))
        .where(
            Mention.organization_id == organization_id,
            col(Mention.external_id).in_([e for _, e in wanted]),
        )
    )
    found = {(s, e): (i, story) for s, e, i, story in result}
    return {key: found[key] for key in wanted if key in found}


async def story_index(
    session: AsyncSession, organization_id: uuid.UUID, keys: Iterable[int]
) -> StoryIndex:
    """Load the stories owning any of `keys`, with their representative signatures."""
    index = StoryIndex()
    wanted = sorted(set(keys))
    if not wanted:
        return index
    # One array parameter rather than an IN list: a batch looks up a thousand keys.
    result = await session.exec(
        text(
            """
            SELECT b.band_key, b.story_id, s.signature
            FROM story_band b JOIN story s ON s.id = b.story_id
            WHERE b.organization_id = :organization_id
              AND b.band_key = ANY(CAST(:keys AS bigint[]))
            """
        ),  # type: ignore[call-overload]
        params={"organization_id": organization_id, "keys": wanted},
    )
    for key, story_id, signature in result:
        index.bands[key] = story_id
        if signature is not None:
            index.signatures.setdefault(story_id, Signature.from_bytes(signature))
    return index


async def insert_stories(
    session: AsyncSession,
    organization_id: uuid.UUID,
    stories: Sequence[tuple[NewStory, str, uuid.UUID | None]],
) -> None:
    """Insert new stories (with title and first author)."""
    if not stories:
        return
    await session.exec(
        insert(Story).values(
            [
                {
                    "id": new.id,
                    "organization_id": organization_id,
                    "title": title[:300],
                    "first_mention_id": new.first_mention_id,
                    "first_author_id": author_id,
                    "signature": new.signature.to_bytes() if new.signature else None,
                    "mention_count": 0,
                    "started_at": new.started_at,
                    "last_posted_at": new.started_at,
                }
                for new, title, author_id in stories
            ]
        )
    )


async def claim_bands(
    session: AsyncSession, organization_id: uuid.UUID, bands: Iterable[tuple[int, uuid.UUID]]
) -> None:
    """Give each unclaimed band key to its story; a key already owned stays with its owner.

    One `unnest` statement: a batch carries dozens of keys per mention, and a multi-row
    VALUES list of that size costs more to build than to run.
    """
    rows = sorted({key: story for key, story in bands}.items())
    if not rows:
        return
    await session.exec(
        text(
            """
            INSERT INTO story_band (organization_id, band_key, story_id)
            SELECT :organization_id, k, s
            FROM unnest(CAST(:keys AS bigint[]), CAST(:stories AS uuid[])) AS t(k, s)
            ON CONFLICT DO NOTHING
            """
        ),  # type: ignore[call-overload]
        params={
            "organization_id": organization_id,
            "keys": [k for k, _ in rows],
            "stories": [s for _, s in rows],
        },
    )


async def lock_stories(session: AsyncSession, story_ids: Iterable[uuid.UUID]) -> None:
    """Lock stories in id order before rows referencing them are written.

    A foreign key takes a share lock on the row it points at; two batches that both wrote
    analyses of a story and then both asked to update it would wait for each other forever.
    Taking the update lock first, in one order, makes them queue instead.
    """
    ids = sorted(set(story_ids))
    if ids:
        await session.exec(
            text(
                "SELECT id FROM story WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE"
            ),  # type: ignore[call-overload]
            params={"ids": ids},
        )


async def update_stories(
    session: AsyncSession,
    members: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None, datetime]],
) -> None:
    """Count new members and move each story's first post (首发) if an earlier one arrived.

    `members` holds (story id, mention id, author id, posted at).
    """
    if not members:
        return
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
            "story_ids": [m[0] for m in members],
            "mention_ids": [m[1] for m in members],
            "author_ids": [m[2] for m in members],
            "posted": [m[3] for m in members],
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


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID | datetime):
        return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
    raise TypeError(f"cannot store {type(value).__name__} as JSON")


async def _insert_rows(
    session: AsyncSession, table: str, rows: Sequence[dict[str, Any]], tail: str = ""
) -> Any:
    """Insert rows sent as one JSON document, expanded by `json_populate_recordset`.

    One parameter however many rows: a multi-row VALUES list or executemany of a few
    dozen wide rows costs several times more on the client than in PostgreSQL.
    """
    columns = ", ".join(rows[0])
    return await session.exec(
        text(
            f"INSERT INTO {table} ({columns}) SELECT {columns} "
            f"FROM json_populate_recordset(NULL::{table}, CAST(:rows AS json)) {tail}"
        ),  # type: ignore[call-overload]
        params={"rows": orjson.dumps(list(rows), default=_json).decode()},
    )


async def insert_analyses(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    """Insert analyses in one statement; return the mention ids this call actually stored."""
    if not rows:
        return set()
    result = await _insert_rows(
        session,
        "mention_analysis",
        rows,
        "ON CONFLICT (mention_id) DO NOTHING RETURNING mention_id",
    )
    return {row[0] for row in result}


async def insert_hits(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """Record which watchlists matched which mentions, with what the risk model reads."""
    if rows:
        await _insert_rows(session, "watchlist_hit", rows, "ON CONFLICT DO NOTHING")


async def lock_watchlists(session: AsyncSession, ids: Sequence[uuid.UUID]) -> list[Watchlist]:
    """Lock watchlists whose tier is about to be decided, in id order to avoid deadlocks.

    Two batches for the same watchlist then decide one after the other, and the second
    reads the tier (and the analyses) the first committed.
    """
    if not ids:
        return []
    result = await session.exec(
        select(Watchlist)
        .where(col(Watchlist.id).in_(ids))
        .order_by(col(Watchlist.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list(result.all())


# The SQL twin of `window.window_stats`: the same figures, aggregated where the rows are,
# so a decision costs one round trip however busy the window. Ties break as in Python
# (code-point order via COLLATE "C"); a test checks both give identical stats.
_WINDOW_STATS = text(
    """
    WITH win AS (
        SELECT * FROM watchlist_hit
        WHERE watchlist_id = :watchlist_id
          AND posted_at >= :window_start AND posted_at <= :window_end
    ),
    neg AS (SELECT * FROM win WHERE sentiment = 'negative'),
    crisis AS (
        SELECT crisis_type, count(*) AS n FROM win WHERE crisis_type IS NOT NULL
        GROUP BY crisis_type ORDER BY n DESC, crisis_type COLLATE "C" LIMIT 1
    ),
    story AS (
        SELECT story_id, count(*) AS n,
               count(DISTINCT CASE WHEN sentiment = 'negative'
                                   THEN coalesce(author_id::text, mention_id::text) END) AS na
        FROM win WHERE story_id IS NOT NULL
        GROUP BY story_id ORDER BY na DESC, n DESC, story_id::text LIMIT 1
    )
    SELECT
        (SELECT count(*) FROM win) AS window_count,
        (SELECT count(*) FROM neg) AS negative_count,
        (SELECT count(*) FROM win WHERE posted_at >= :recent_start) AS recent_count,
        (SELECT coalesce(sum(f), 0) FROM (
            SELECT max(followers) AS f FROM win
            GROUP BY coalesce(author_id::text, 'mention:' || mention_id::text)) a) AS followers,
        (SELECT coalesce(sum(views), 0) FROM win) AS views,
        (SELECT coalesce(array_agg(h ORDER BY f DESC, h COLLATE "C"), '{}') FROM (
            SELECT author_handle AS h, max(followers) AS f FROM neg
            WHERE author_handle IS NOT NULL AND author_kind = 'media'
            GROUP BY author_handle ORDER BY f DESC, author_handle COLLATE "C" LIMIT :named
        ) m) AS media_authors,
        (SELECT coalesce(array_agg(h ORDER BY f DESC, h COLLATE "C"), '{}') FROM (
            SELECT author_handle AS h, max(followers) AS f FROM neg
            WHERE author_handle IS NOT NULL
              AND (author_kind = 'kol' OR (author_kind = 'user' AND influence >= :kol))
            GROUP BY author_handle ORDER BY f DESC, author_handle COLLATE "C" LIMIT :named
        ) k) AS kol_authors,
        (SELECT coalesce(max(sensitive_score), 0) FROM neg WHERE sensitive_score > 0)
            AS sensitive_max,
        (SELECT count(*) FROM neg WHERE sensitive_score > 0) AS sensitive_mentions,
        (SELECT coalesce(array_agg(t ORDER BY n DESC, t COLLATE "C"), '{}') FROM (
            SELECT t, count(*) AS n FROM neg, unnest(sensitive_terms) AS t
            WHERE sensitive_score > 0
            GROUP BY t ORDER BY n DESC, t COLLATE "C" LIMIT :named
        ) s) AS sensitive_terms,
        (SELECT crisis_type FROM crisis) AS crisis_type,
        (SELECT n FROM crisis) AS crisis_mentions,
        (SELECT coalesce(array_agg(e || '×' || n ORDER BY n DESC, e COLLATE "C"), '{}') FROM (
            SELECT e, count(*) AS n FROM win, unnest(crisis_evidence) AS e
            WHERE crisis_type = (SELECT crisis_type FROM crisis)
            GROUP BY e ORDER BY n DESC, e COLLATE "C" LIMIT :named
        ) c) AS crisis_evidence,
        (SELECT story_id FROM story) AS story_id,
        (SELECT n FROM story) AS story_count,
        (SELECT na FROM story) AS story_negative_authors,
        (SELECT coalesce(array_agg(mention_id ORDER BY r DESC, posted_at DESC,
                                   mention_id::text), '{}') FROM (
            SELECT mention_id, posted_at, followers + views AS r FROM win
            ORDER BY r DESC, posted_at DESC, mention_id::text LIMIT :top
        ) t) AS top_mention_ids
    """
)


async def window_stats(
    session: AsyncSession,
    watchlist_id: uuid.UUID,
    now: datetime,
    baseline: Sequence[int],
    *,
    last_spike_at: datetime | None = None,
    last_spike_count: int | None = None,
) -> WindowStats:
    """Summarise the watchlist's window ending at `now` in one query (see `_WINDOW_STATS`)."""
    _, window_start, recent_start, window_end = window_bounds(now)
    result = await session.exec(
        _WINDOW_STATS,  # type: ignore[call-overload]
        params={
            "watchlist_id": watchlist_id,
            "window_start": window_start,
            "window_end": window_end,
            "recent_start": recent_start,
            "kol": KOL_THRESHOLD,
            "named": NAMED,
            "top": TOP_MENTIONS,
        },
    )
    row = result.one()
    story = (
        StoryStats(row.story_id, int(row.story_count), int(row.story_negative_authors))
        if row.story_id is not None
        else None
    )
    return WindowStats(
        window_start=window_start,
        window_end=window_end,
        window_count=int(row.window_count),
        negative_count=int(row.negative_count),
        recent_count=int(row.recent_count),
        baseline=tuple(baseline),
        followers=int(row.followers),
        views=int(row.views),
        media_authors=tuple(row.media_authors),
        kol_authors=tuple(row.kol_authors),
        sensitive_max=float(row.sensitive_max),
        sensitive_mentions=int(row.sensitive_mentions),
        sensitive_terms=tuple(row.sensitive_terms),
        crisis_type=CrisisType(row.crisis_type) if row.crisis_type else None,
        crisis_mentions=int(row.crisis_mentions or 0),
        crisis_evidence=tuple(row.crisis_evidence),
        top_story=story,
        top_mention_ids=tuple(uuid.UUID(str(i)) for i in row.top_mention_ids),
        windows_since_spike=window_index(last_spike_at, now) if last_spike_at else None,
        last_spike_count=last_spike_count,
    )


# Windows are counted back from the current window's start: index 1 is the window just
# before it, as in `window.window_index`; the series is returned oldest first.
_SERIES = """
    SELECT 1 + floor(extract(epoch FROM (:window_start - posted_at)) / :seconds)::int AS idx,
           count(*) AS n
    FROM {table}
    WHERE {key} = :key AND posted_at >= :baseline_start AND posted_at < :window_start
    GROUP BY 1
"""


async def _series(
    session: AsyncSession, table: str, key_column: str, key: uuid.UUID, now: datetime
) -> tuple[int, ...]:
    baseline_start, window_start, _, _ = window_bounds(now)
    result = await session.exec(
        text(_SERIES.format(table=table, key=key_column)),  # type: ignore[call-overload]
        params={
            "key": key,
            "window_start": window_start,
            "baseline_start": baseline_start,
            "seconds": WINDOW.total_seconds(),
        },
    )
    counts = [0] * BASELINE_WINDOWS
    for row in result:
        if 1 <= row.idx <= BASELINE_WINDOWS:
            counts[BASELINE_WINDOWS - row.idx] += int(row.n)
    return tuple(counts)


async def watchlist_series(
    session: AsyncSession, watchlist_id: uuid.UUID, now: datetime
) -> tuple[int, ...]:
    """Count the watchlist's hits per window over the baseline span before `now`."""
    return await _series(session, "watchlist_hit", "watchlist_id", watchlist_id, now)


async def story_series(
    session: AsyncSession, story_id: uuid.UUID, now: datetime
) -> tuple[int, ...]:
    """Count the story's mentions per window over the baseline span before `now`."""
    return await _series(session, "mention_analysis", "story_id", story_id, now)


async def record_spike(
    session: AsyncSession, watchlist_id: uuid.UUID, at: datetime, count: int
) -> None:
    """Remember the last spike, so the next one waits out the cooldown."""
    await session.exec(
        update(Watchlist)
        .where(col(Watchlist.id) == watchlist_id)
        .values(last_spike_at=at, last_spike_count=count)
    )


async def insert_watchlist(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    keywords: list[str],
    query: str,
    now: datetime,
) -> Watchlist | None:
    """Insert a watchlist; return None when the organization already has one of that name."""
    watchlist = Watchlist(
        id=uuid.uuid4(),
        organization_id=organization_id,
        name=name,
        keywords=keywords,
        query=query,
        created_at=now,
        updated_at=now,
    )
    # ON CONFLICT rather than a prior lookup: two concurrent creations cannot both win.
    result = await session.exec(
        insert(Watchlist)
        .values(
            id=watchlist.id,
            organization_id=organization_id,
            name=name,
            keywords=keywords,
            query=query,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "name"])
        .returning(col(Watchlist.id))
    )
    return watchlist if result.first() is not None else None


async def upsert_sensitive_terms(
    session: AsyncSession,
    organization_id: uuid.UUID,
    overrides: Sequence[TermOverride],
    remove: Sequence[str],
    now: datetime,
) -> None:
    """Apply an organization's lexicon changes in two statements."""
    if remove:
        await session.exec(
            text("DELETE FROM sensitive_term WHERE organization_id = :org AND term = ANY(:terms)"),  # type: ignore[call-overload]
            params={"org": organization_id, "terms": list(remove)},
        )
    if overrides:
        statement = insert(SensitiveTerm).values(
            [
                {
                    "id": uuid.uuid4(),
                    "organization_id": organization_id,
                    "term": o.term,
                    "category": o.category.value,
                    "weight": o.weight,
                    "updated_at": now,
                }
                for o in overrides
            ]
        )
        await session.exec(
            statement.on_conflict_do_update(
                index_elements=["organization_id", "term"],
                set_={
                    "category": statement.excluded.category,
                    "weight": statement.excluded.weight,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )
