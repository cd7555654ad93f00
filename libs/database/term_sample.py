"""The terms most mentions of a long window carry, counted exactly or estimated from a sample.

Counting terms means unnesting every analysed mention's terms in the window: about 30
tokens a post, so a month of an organization with ten million mentions is tens of millions
of rows, seconds of work for a dashboard panel. A rollup per term would move that cost to
the live path, an upsert per distinct term of every analysed post on rows far hotter than
the bucket rows. So a long window is sampled instead, the way `totalCount` is: exact while
the window is small, estimated above it, and the answer says which.

The sample is stratified in time. The window is cut at the rollups' quarter-hours; from each
slice the first `per_slice` analysed mentions are read through the (organization, posted_at)
index (or a watchlist's hits, through their primary key), about `TARGET` mentions in all.
A slice read to its end counts as itself; a slice cut short stands for all of its mentions,
how many the quarter-hour rollup rows say (at the window's two partial ends, its
minute rows and the raw rows of the seconds beside them).
So a burst inside one quarter of an hour weighs what it is, and a quiet night what it is.
If no slice was cut short, the sample is the window and the counts are exact. A
quarter-hour the rollups no longer hold (past `RETENTION_ROLLUPS_DAYS`) counts its sampled
mentions as themselves: the estimate is then low, and still says it is an estimate.
"""

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.mention_window import Scope, TermRow, top_terms
from libs.database.rollup_windows import bucket_start, split
from libs.database.rollups import GRAINS
from libs.database.tables.rollups import EVERY_MENTION

TARGET = 4000
"""Mentions read in all: top terms of a word-cloud panel are stable well below this."""
SLICE = timedelta(seconds=900)
"""The quarter-hour rollup grain: its rows say how many mentions each slice holds."""

_TERMS = {
    "keyword": "a.matched_keywords",
    "hashtag": "a.hashtags",
    "token": "a.tokens",
    "sensitive": "ARRAY(SELECT h->>'term' FROM jsonb_array_elements(a.sensitive_hits) h)",
}

# One slice's first mentions: of every mention but drills', or of one watchlist's hits.
_EVERY = """
    SELECT a.mention_id, a.sentiment, {terms} AS terms
    FROM mention_analysis a JOIN mention m ON m.id = a.mention_id
    WHERE a.organization_id = :org AND a.posted_at >= s.lo AND a.posted_at < s.hi
      AND m.drill_id IS NULL
    ORDER BY a.posted_at LIMIT :per_slice
"""
_WATCHLIST = """
    SELECT a.mention_id, a.sentiment, {terms} AS terms
    FROM watchlist_hit h JOIN mention_analysis a ON a.mention_id = h.mention_id
    WHERE h.watchlist_id = :watchlist AND h.organization_id = :org
      AND h.posted_at >= s.lo AND h.posted_at < s.hi
    ORDER BY h.posted_at LIMIT :per_slice
"""

_SAMPLE = """
    WITH slices AS (
        SELECT * FROM unnest(CAST(:lo AS timestamptz[]), CAST(:hi AS timestamptz[]),
                             CAST(:held AS bigint[])) WITH ORDINALITY AS s(lo, hi, held, i)
    ),
    picked AS (
        SELECT s.i, p.mention_id, p.sentiment, p.terms
        FROM slices s CROSS JOIN LATERAL ({slice}) p
    ),
    weights AS (
        SELECT s.i,
               count(p.mention_id) >= :per_slice AND s.held <> count(p.mention_id) AS cut,
               CASE WHEN count(p.mention_id) >= :per_slice
                    THEN greatest(s.held, count(p.mention_id))::float8 / count(p.mention_id)
                    ELSE 1.0 END AS weight
        FROM slices s JOIN picked p ON p.i = s.i
        GROUP BY s.i, s.held
    ),
    pairs AS (
        SELECT DISTINCT p.i, p.mention_id, p.sentiment, t.term
        FROM picked p CROSS JOIN LATERAL unnest(p.terms) AS t(term)
        WHERE t.term IS NOT NULL AND length(btrim(t.term)) > 0 {token_rule}
    )
    SELECT t.term, t.mentions, t.negative, (SELECT coalesce(bool_or(cut), false) FROM weights)
    FROM (
        SELECT p.term, sum(w.weight) AS mentions,
               coalesce(sum(w.weight) FILTER (WHERE p.sentiment = 'negative'), 0) AS negative
        FROM pairs p JOIN weights w ON w.i = p.i
        GROUP BY p.term
        ORDER BY mentions DESC, p.term COLLATE "C"
        LIMIT :first
    ) t
    ORDER BY t.mentions DESC, t.term COLLATE "C"
"""

_HELD = """
    SELECT bucket_at, sum(positive + neutral + negative)
    FROM mention_rollup
    WHERE organization_id = :org AND watchlist_id = :watchlist AND grain_seconds = :grain
      AND bucket_at >= :since AND bucket_at < :until
    GROUP BY bucket_at
"""
# A slice the window's ends cut short: its whole minutes from their rollup rows, and only the
# seconds beside them from the raw rows (`rollup_windows.split`). Counting the slice's raw
# rows instead read up to a quarter-hour of them, however busy: at 40 mentions a second the
# last quarter-hour of a window ending now holds 36,000. Each part is its own subquery, and
# an empty one is left out: PostgreSQL estimates an empty range (`x >= t AND x < t`) under an
# OR at a third of the table, and chose to scan all ten million mentions for it.
_MINUTES = """
    SELECT coalesce(sum(positive + neutral + negative), 0) FROM mention_rollup
    WHERE organization_id = :org AND watchlist_id = :watchlist AND grain_seconds = :minute
      AND bucket_at >= :minutes_start AND bucket_at < :minutes_end
"""
_SECONDS_EVERY = """
    SELECT count(*) FROM mention_analysis a JOIN mention m ON m.id = a.mention_id
    WHERE a.organization_id = :org AND m.drill_id IS NULL
      AND a.posted_at >= :raw_{n}_start AND a.posted_at < :raw_{n}_end
"""
_SECONDS_WATCHLIST = """
    SELECT count(*) FROM watchlist_hit h JOIN mention_analysis a ON a.mention_id = h.mention_id
    WHERE h.watchlist_id = :watchlist AND h.organization_id = :org
      AND h.posted_at >= :raw_{n}_start AND h.posted_at < :raw_{n}_end
"""


@dataclass(frozen=True)
class TermSample:
    """The top terms, and whether their counts were counted (True) or estimated."""

    rows: list[TermRow]
    exact: bool


def slices(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    """Cut [since, until) at the quarter-hours of the rollups' grid."""
    cuts = [since]
    boundary = bucket_start(since, SLICE) + SLICE
    while boundary < until:
        cuts.append(boundary)
        boundary += SLICE
    cuts.append(until)
    return [(lo, hi) for lo, hi in itertools.pairwise(cuts) if lo < hi]


async def _held(
    session: AsyncSession, scope: Scope, cut: list[tuple[datetime, datetime]]
) -> list[int]:
    """How many analysed mentions of the scope each slice holds, from the rollups.

    A whole quarter-hour is its rollup rows; one of the two the window's ends cut short is
    its whole minutes' rows (`_MINUTES`) and the raw rows of the less than a minute at
    either side (`_SECONDS_EVERY`, `_SECONDS_WATCHLIST`).
    """
    watchlist = scope.watchlist_id or EVERY_MENTION
    result = await session.exec(
        text(_HELD),  # type: ignore[call-overload]
        params={
            "org": scope.organization_id,
            "watchlist": watchlist,
            "grain": int(SLICE.total_seconds()),
            "since": cut[0][0],
            "until": cut[-1][1],
        },
    )
    by_bucket = {bucket: int(count) for bucket, count in result}
    seconds = _SECONDS_WATCHLIST if scope.watchlist_id else _SECONDS_EVERY
    held = []
    for lo, hi in cut:
        if hi - lo == SLICE:
            # No rollup row: nothing analysed there (or not rebuilt yet).
            held.append(by_bucket.get(lo, 0))
            continue
        part = split(lo, hi, GRAINS[0])
        counts: list[str] = []
        params: dict[str, object] = {"org": scope.organization_id, "watchlist": watchlist}
        if not part.inside.empty:
            counts.append(_MINUTES)
            params |= {
                "minute": GRAINS[0],
                "minutes_start": part.inside.start,
                "minutes_end": part.inside.end,
            }
        for n, span in enumerate(part.raw):
            if not span.empty:
                counts.append(seconds.format(n=n))
                params |= {f"raw_{n}_start": span.start, f"raw_{n}_end": span.end}
        statement = text("SELECT " + " + ".join(f"({count})" for count in counts))
        counted = await session.exec(statement, params=params)  # type: ignore[call-overload]
        held.append(int(counted.scalar_one()))
    return held


async def sampled_top_terms(
    session: AsyncSession, scope: Scope, kind: str, first: int, *, target: int = TARGET
) -> TermSample:
    """Return the `first` terms of `kind` most mentions in the scope carry, most first.

    Counted exactly when every quarter-hour of the window holds fewer mentions than its
    share of `target`; otherwise estimated from that many mentions per quarter-hour, each
    standing for its quarter-hour's count. Drills' mentions included on request go through
    the exact count (the rollups that weigh slices leave them out).
    """
    if scope.include_drills and scope.watchlist_id is None:
        return TermSample(await top_terms(session, scope, kind, first), exact=True)
    cut = slices(scope.since, scope.until)
    if not cut:
        return TermSample([], exact=True)
    per_slice = max(1, math.ceil(target / len(cut)))
    held = await _held(session, scope, cut)
    sql = _SAMPLE.format(
        slice=(_WATCHLIST if scope.watchlist_id else _EVERY).format(terms=_TERMS[kind]),
        token_rule="AND char_length(t.term) >= 2" if kind == "token" else "",
    )
    result = await session.exec(
        text(sql),  # type: ignore[call-overload]
        params={
            "org": scope.organization_id,
            "watchlist": scope.watchlist_id,
            "lo": [lo for lo, _ in cut],
            "hi": [hi for _, hi in cut],
            "held": held,
            "per_slice": per_slice,
            "first": first,
        },
    )
    found = result.all()
    rows = [TermRow(str(term), round(count), round(negative)) for term, count, negative, _ in found]
    cut_short = bool(found[0][3]) if found else False
    return TermSample(rows, exact=not cut_short)
