"""The window a decision reads: its statistics (one SQL statement, stored or replayed hits),
the baseline series, and the typed hit rows they are computed from."""

import dataclasses
import random
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, CrisisType
from libs.database.tables import WatchlistHit
from services.analysis.influence import KOL_THRESHOLD
from services.analysis.repository import writes
from services.analysis.repository.rows import HitRow, table_row
from services.analysis.repository.window import (
    watchlist_series,
    window_stats,
)
from services.analysis.tests.builders import (
    make_author,
    make_mention,
    make_organization,
    make_watchlist,
)
from services.analysis.window import (
    BASELINE_WINDOWS,
    NAMED,
    TOP_MENTIONS,
    StoryStats,
    WindowStats,
    baseline_series,
    window_bounds,
    window_index,
)

NOW = datetime(2025, 3, 15, 20, 0, tzinfo=UTC)
_, WINDOW_START, _, _ = window_bounds(NOW)
STEADY = (1,) * BASELINE_WINDOWS


def reference_stats(
    hits: Sequence[HitRow],
    now: datetime,
    *,
    last_spike_at: datetime | None = None,
    last_spike_count: int | None = None,
) -> WindowStats:
    """A reference summary in plain Python, independent of the SQL statement under test."""
    _, window_start, recent_start, window_end = window_bounds(now)
    rows = [h for h in hits if window_start <= h.posted_at <= window_end]
    negative = [h for h in rows if h.sentiment == "negative"]
    followers: dict[uuid.UUID | str, int] = {}
    for hit in rows:
        key: uuid.UUID | str = hit.author_id or f"mention:{hit.mention_id}"
        followers[key] = max(followers.get(key, 0), hit.followers)

    def named(wanted: Sequence[HitRow]) -> tuple[str, ...]:
        best: dict[str, int] = {}
        for hit in wanted:
            if hit.author_handle:
                best[hit.author_handle] = max(hit.followers, best.get(hit.author_handle, 0))
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))
        return tuple(handle for handle, _ in ranked[:NAMED])

    def is_kol(hit: HitRow) -> bool:
        return hit.author_kind == "kol" or (
            hit.author_kind == "user" and hit.influence >= KOL_THRESHOLD
        )

    def top(counts: Counter[str]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda i: (-i[1], i[0]))[:NAMED]

    sensitive = [h for h in negative if h.sensitive_score > 0]
    crisis_counts = Counter(h.crisis_type for h in rows if h.crisis_type)
    crisis_type: CrisisType | None = None
    crisis_evidence: tuple[str, ...] = ()
    if crisis_counts:
        name, _ = min(crisis_counts.items(), key=lambda item: (-item[1], item[0]))
        crisis_type = CrisisType(name)
        cues = Counter(e for h in rows if h.crisis_type == name for e in h.crisis_evidence)
        crisis_evidence = tuple(f"{cue}×{n}" for cue, n in top(cues))
    volume = Counter(h.story_id for h in rows if h.story_id)
    story = None
    if volume:
        voices: dict[uuid.UUID, set[uuid.UUID | str]] = {}
        for hit in negative:
            if hit.story_id:
                voices.setdefault(hit.story_id, set()).add(hit.author_id or str(hit.mention_id))
        chosen = min(volume, key=lambda s: (-len(voices.get(s, ())), -volume[s], str(s)))
        story = StoryStats(chosen, volume[chosen], len(voices.get(chosen, ())))
    ranked = sorted(
        rows, key=lambda h: (-(h.followers + h.views), -h.posted_at.timestamp(), str(h.mention_id))
    )
    return WindowStats(
        window_start=window_start,
        window_end=window_end,
        window_count=len(rows),
        negative_count=len(negative),
        recent_count=sum(1 for h in rows if h.posted_at >= recent_start),
        baseline=STEADY,
        followers=sum(followers.values()),
        views=sum(h.views for h in rows),
        media_authors=named([h for h in negative if h.author_kind == "media"]),
        kol_authors=named([h for h in negative if is_kol(h)]),
        sensitive_max=max((h.sensitive_score for h in sensitive), default=0.0),
        sensitive_mentions=len(sensitive),
        sensitive_terms=tuple(
            t for t, _ in top(Counter(t for h in sensitive for t in h.sensitive_terms))
        ),
        crisis_type=crisis_type,
        crisis_mentions=crisis_counts[crisis_type.value] if crisis_type else 0,
        crisis_evidence=crisis_evidence,
        top_story=story,
        top_mention_ids=tuple(h.mention_id for h in ranked[:TOP_MENTIONS]),
        windows_since_spike=window_index(last_spike_at, now) if last_spike_at else None,
        last_spike_count=last_spike_count,
    )


async def test_window_stats_summarise_hits(session: AsyncSession) -> None:
    watchlist, org = uuid.uuid4(), uuid.uuid4()
    media, user, story = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def hit(minutes: int, sentiment: str, **facts: Any) -> HitRow:
        posted = NOW - timedelta(minutes=minutes)
        return HitRow(
            watchlist_id=watchlist,
            posted_at=posted,
            mention_id=uuid.uuid4(),
            organization_id=org,
            sentiment=sentiment,
            **facts,
        )

    hits = [
        hit(1, "negative", author_id=media, author_handle="晨潮新闻", author_kind="media",
            followers=3_000_000, views=10_000, influence=80.0, sensitive_score=0.6,
            sensitive_terms=("异物",), crisis_type="product_quality", crisis_evidence=("异物",),
            story_id=story),
        hit(2, "negative", author_id=user, author_handle="糖糖", followers=200, views=50,
            influence=10.0, crisis_type="product_quality", crisis_evidence=("变质",),
            story_id=story),
        hit(3, "negative", author_id=user, author_handle="糖糖", followers=200, views=50,
            influence=10.0, sensitive_score=0.9, sensitive_terms=("致癌",)),
        hit(10, "neutral", views=5),
        hit(20, "negative"),  # before the window
    ]  # fmt: skip
    summary = await window_stats(session, watchlist, NOW, STEADY, replayed=hits)
    assert (summary.window_count, summary.negative_count, summary.recent_count) == (4, 3, 3)
    assert summary.followers == 3_000_200 and summary.views == 10_105
    assert summary.media_authors == ("晨潮新闻",) and summary.kol_authors == ()
    assert summary.sensitive_mentions == 2 and summary.sensitive_max == 0.9
    assert summary.sensitive_terms == ("异物", "致癌")
    assert summary.crisis_type is CrisisType.PRODUCT_QUALITY and summary.crisis_mentions == 2
    assert summary.crisis_evidence == ("变质×1", "异物×1")
    assert summary.top_story == StoryStats(story, window_count=2, negative_authors=2)
    assert summary.top_mention_ids[0] == hits[0].mention_id
    assert len(summary.top_mention_ids) == 4
    assert summary == reference_stats(hits, NOW)


async def test_an_empty_window_has_no_figures(session: AsyncSession) -> None:
    summary = await window_stats(session, uuid.uuid4(), NOW, STEADY, replayed=[])
    assert summary == WindowStats(
        window_start=WINDOW_START, window_end=NOW, window_count=0, negative_count=0,
        recent_count=0, baseline=STEADY,
    )  # fmt: skip


async def test_stored_and_replayed_hits_give_the_same_stats_as_the_reference(
    session: AsyncSession,
) -> None:
    """The live worker reads stored hits, a backtest replays them: one statement, one answer."""
    chance = random.Random(7)
    org = await make_organization(session)
    watchlist = make_watchlist(session, org, "w", ["x"])
    authors = [
        make_author(session, org, name, kind=kind, followers=followers)
        for name, kind, followers in [
            ("晨潮新闻", AuthorKind.MEDIA, 3_000_000),
            ("Ａ报", AuthorKind.MEDIA, 3_000_000),
            ("大V", AuthorKind.KOL, 800_000),
            ("用户甲", AuthorKind.USER, 100),
            ("用户乙", AuthorKind.USER, 100),
        ]
    ]
    stories = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    mentions = [
        make_mention(session, org, "x", NOW - timedelta(seconds=chance.randint(0, 1500)))
        for _ in range(120)
    ]
    await session.flush()
    hits = []
    for mention in mentions:
        author = chance.choice([*authors, None])
        hits.append(
            HitRow(
                watchlist_id=watchlist.id,
                posted_at=mention.posted_at,
                mention_id=mention.id,
                organization_id=org,
                sentiment=chance.choice(["negative", "negative", "neutral", "positive"]),
                author_id=author.id if author else None,
                author_handle=author.handle if author else None,
                author_kind=author.kind if author else "user",
                followers=author.followers if author else 0,
                views=chance.choice([0, 100, 100, 5_000]),
                influence=chance.choice([0.0, 30.0, 50.0]),
                sensitive_score=chance.choice([0.0, 0.0, 0.5, 0.9]),
                sensitive_terms=chance.sample(["异物", "维权", "召回", "死亡"], 2),
                crisis_type=chance.choice([None, "product_quality", "customer_service"]),
                crisis_evidence=chance.sample(["异物", "客服", "退款", "变质"], 2),
                story_id=chance.choice([*stories, None]),
            )
        )
    await writes.insert_hits(session, hits)
    spike_at = NOW - timedelta(hours=3)

    stored = await window_stats(
        session, watchlist.id, NOW, STEADY, last_spike_at=spike_at, last_spike_count=9
    )
    replayed = await window_stats(
        session,
        watchlist.id,
        NOW,
        STEADY,
        replayed=hits,
        last_spike_at=spike_at,
        last_spike_count=9,
    )
    expected = reference_stats(hits, NOW, last_spike_at=spike_at, last_spike_count=9)
    assert expected.window_count > 20 and expected.top_story is not None
    # Equal followers: handles in code-point order (晨 U+6668 before Ａ U+FF21).
    assert expected.media_authors == ("晨潮新闻", "Ａ报") and expected.crisis_type is not None
    assert stored == expected
    assert replayed == expected


async def test_sql_baseline_series_matches_the_in_memory_one(session: AsyncSession) -> None:
    org = await make_organization(session)
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    offsets = [0, 1, 899, 900, 901, 3600, 86_399, 86_400, 86_401, 87_300, 87_301, 90_000]
    window_start = now - timedelta(minutes=15)
    posted = [window_start - timedelta(seconds=s) for s in offsets] + [now]
    watchlist = make_watchlist(session, org, "w", ["x"])
    mentions = [make_mention(session, org, "x", at) for at in posted]
    await session.flush()
    await writes.insert_hits(
        session,
        [HitRow(watchlist.id, m.posted_at, m.id, org, "neutral") for m in mentions],
    )
    series = await watchlist_series(session, watchlist.id, now)
    assert series == baseline_series(posted, now)
    # Offset 0 is the current window's start; 86 400 s and beyond fall before the baseline.
    assert sum(series) == 6


def test_baseline_series_counts_each_earlier_window() -> None:
    posted = [
        WINDOW_START - timedelta(seconds=1),  # the window just before: last position
        WINDOW_START - timedelta(minutes=15),  # exactly on a boundary: two windows back
        WINDOW_START - timedelta(hours=24),  # exactly the baseline start: outside
        WINDOW_START - timedelta(hours=24) + timedelta(seconds=1),  # first position
        NOW,  # the current window: not baseline
    ]
    series = baseline_series(posted, NOW)
    assert len(series) == BASELINE_WINDOWS
    assert series[-1] == 1 and series[-2] == 1 and series[0] == 1 and sum(series) == 3
    assert window_index(NOW, NOW) == 0


def test_a_row_class_naming_a_column_its_table_lacks_is_refused() -> None:
    with pytest.raises(TypeError, match="folowers"):

        @table_row
        @dataclasses.dataclass(frozen=True)
        class Misspelt:
            TABLE: ClassVar[type[SQLModel]] = WatchlistHit
            watchlist_id: uuid.UUID
            folowers: int
