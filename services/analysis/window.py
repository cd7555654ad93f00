"""From a watchlist's hits to the `WindowStats` the risk model scores.

The live worker loads the rows from `watchlist_hit`; a backtest builds them in memory from
replayed analyses. Both call `window_stats`, so a backtest decides exactly as the live
system would have.
"""

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from libs.contracts.enums import AuthorKind, CrisisType, Sentiment
from services.analysis.influence import KOL_THRESHOLD
from services.analysis.risk import (
    BASELINE_WINDOWS,
    WINDOW,
    StoryStats,
    WindowStats,
    window_bounds,
)

# How many media and KOL handles, sensitive terms and cues a signal names.
NAMED = 5
TOP_MENTIONS = 10


@dataclass(frozen=True)
class Hit:
    """One mention a watchlist matched, with what the risk model reads about it."""

    mention_id: uuid.UUID
    posted_at: datetime
    sentiment: str
    author_id: uuid.UUID | None = None
    author_handle: str | None = None
    author_kind: str = AuthorKind.USER.value
    followers: int = 0
    views: int = 0
    influence: float = 0.0
    sensitive_score: float = 0.0
    sensitive_terms: tuple[str, ...] = ()
    crisis_type: str | None = None
    crisis_evidence: tuple[str, ...] = ()
    story_id: uuid.UUID | None = None

    @property
    def negative(self) -> bool:
        """Return whether the mention is negative."""
        return self.sentiment == Sentiment.NEGATIVE.value


def window_index(posted_at: datetime, now: datetime) -> int:
    """Return how many whole windows before the current one `posted_at` falls (0 = current)."""
    _, window_start, _, _ = window_bounds(now)
    if posted_at >= window_start:
        return 0
    return 1 + int((window_start - posted_at) / WINDOW)


def baseline_series(posted: Iterable[datetime], now: datetime) -> tuple[int, ...]:
    """Count mentions per window over the baseline span, oldest window first."""
    counts = [0] * BASELINE_WINDOWS
    for at in posted:
        index = window_index(at, now)
        if 1 <= index <= BASELINE_WINDOWS:
            counts[BASELINE_WINDOWS - index] += 1
    return tuple(counts)


def _named(authors: Iterable[tuple[str, int]]) -> tuple[str, ...]:
    best: dict[str, int] = {}
    for handle, followers in authors:
        best[handle] = max(followers, best.get(handle, 0))
    ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
    return tuple(handle for handle, _ in ranked[:NAMED])


def _is_kol(hit: Hit) -> bool:
    return hit.author_kind == AuthorKind.KOL.value or (
        hit.author_kind == AuthorKind.USER.value and hit.influence >= KOL_THRESHOLD
    )


def window_stats(
    window: Sequence[Hit],
    baseline: Sequence[int],
    now: datetime,
    *,
    story_baselines: Mapping[uuid.UUID, Sequence[int]] | None = None,
    last_spike_at: datetime | None = None,
    last_spike_count: int | None = None,
) -> WindowStats:
    """Summarise the hits posted in the window ending at `now` (others are ignored)."""
    _, window_start, recent_start, window_end = window_bounds(now)
    rows = [h for h in window if window_start <= h.posted_at <= window_end]
    negative = [h for h in rows if h.negative]
    followers: dict[uuid.UUID | str, int] = {}
    for hit in rows:
        key: uuid.UUID | str = hit.author_id or f"mention:{hit.mention_id}"
        followers[key] = max(followers.get(key, 0), hit.followers)
    sensitive = [h for h in negative if h.sensitive_score > 0]
    sensitive_terms = Counter(t for h in sensitive for t in h.sensitive_terms)
    crisis_counts = Counter(h.crisis_type for h in rows if h.crisis_type)
    crisis_type: CrisisType | None = None
    crisis_evidence: tuple[str, ...] = ()
    if crisis_counts:
        name, _ = min(crisis_counts.items(), key=lambda item: (-item[1], item[0]))
        crisis_type = CrisisType(name)
        cues = Counter(e for h in rows if h.crisis_type == name for e in h.crisis_evidence)
        crisis_evidence = tuple(
            f"{cue}×{n}" for cue, n in sorted(cues.items(), key=lambda i: (-i[1], i[0]))[:NAMED]
        )
    top_story = _top_story(rows, story_baselines or {})
    ranked = sorted(
        rows,
        key=lambda h: (-(h.followers + h.views), -h.posted_at.timestamp(), str(h.mention_id)),
    )
    windows_since = window_index(last_spike_at, now) if last_spike_at is not None else None
    return WindowStats(
        window_start=window_start,
        window_end=window_end,
        window_count=len(rows),
        negative_count=len(negative),
        recent_count=sum(1 for h in rows if h.posted_at >= recent_start),
        baseline=tuple(baseline),
        followers=sum(followers.values()),
        views=sum(h.views for h in rows),
        media_authors=_named(
            (h.author_handle, h.followers)
            for h in negative
            if h.author_handle and h.author_kind == AuthorKind.MEDIA.value
        ),
        kol_authors=_named(
            (h.author_handle, h.followers) for h in negative if h.author_handle and _is_kol(h)
        ),
        sensitive_max=max((h.sensitive_score for h in sensitive), default=0.0),
        sensitive_mentions=len(sensitive),
        sensitive_terms=tuple(
            t for t, _ in sorted(sensitive_terms.items(), key=lambda i: (-i[1], i[0]))[:NAMED]
        ),
        crisis_type=crisis_type,
        crisis_mentions=crisis_counts[crisis_type.value] if crisis_type else 0,
        crisis_evidence=crisis_evidence,
        top_story=top_story,
        top_mention_ids=tuple(h.mention_id for h in ranked[:TOP_MENTIONS]),
        windows_since_spike=windows_since,
        last_spike_count=last_spike_count,
    )


def _top_story(
    rows: Sequence[Hit], baselines: Mapping[uuid.UUID, Sequence[int]]
) -> StoryStats | None:
    """Return the story with the most distinct negative authors in the window (then volume)."""
    volume: Counter[uuid.UUID] = Counter(h.story_id for h in rows if h.story_id)
    if not volume:
        return None
    authors: dict[uuid.UUID, set[uuid.UUID | str]] = {}
    for hit in rows:
        if hit.story_id and hit.negative:
            authors.setdefault(hit.story_id, set()).add(hit.author_id or str(hit.mention_id))
    story_id = min(
        volume,
        key=lambda s: (-len(authors.get(s, ())), -volume[s], str(s)),
    )
    return StoryStats(
        story_id=story_id,
        window_count=volume[story_id],
        negative_authors=len(authors.get(story_id, ())),
        baseline=tuple(baselines.get(story_id, ())),
    )
