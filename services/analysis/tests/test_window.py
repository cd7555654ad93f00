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
from sqlalchemy import text
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, CrisisType
from libs.database.rollups import HARMFUL, ORIGIN
from libs.database.tables import Watchlist, WatchlistHit
from services.analysis.influence import KOL_THRESHOLD
from services.analysis.repository import writes
from services.analysis.repository.rows import HitRow, table_row
from services.analysis.repository.window import (
    watchlist_history,
    window_stats,
)
from services.analysis.tests.builders import (
    analysis_row,
    make_author,
    make_mention,
    make_organization,
    make_watchlist,
)
from services.analysis.window import (
    BASELINE_WINDOWS,
    HISTORY_SPAN,
    MIN_HISTORY_WINDOWS,
    NAMED,
    SEASON_DAYS,
    SEASON_WINDOWS,
    TOP_MENTIONS,
    WINDOW,
    BaselineKind,
    History,
    StoryStats,
    WindowStats,
    harmful,
    history,
    history_end,
    history_index,
    history_ranges,
    seasonal_indexes,
    window_bounds,
    window_counts,
    window_index,
)

NOW = datetime(2025, 3, 15, 20, 0, tzinfo=UTC)
SLIDING = datetime(2026, 3, 1, 12, 7, 13, 250_000, tzinfo=UTC)
_, WINDOW_START, _, _ = window_bounds(NOW)
STEADY = History(
    volume=(2,) * BASELINE_WINDOWS, harm=(1,) * BASELINE_WINDOWS, windows=BASELINE_WINDOWS
)


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
    harm = [h for h in rows if h.sentiment == "negative" or h.sensitive_score > 0]
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
        story = StoryStats(
            chosen,
            volume[chosen],
            len(voices.get(chosen, ())),
            sum(1 for h in harm if h.story_id == chosen),
        )
    ranked = sorted(
        rows, key=lambda h: (-(h.followers + h.views), -h.posted_at.timestamp(), str(h.mention_id))
    )
    return WindowStats(
        window_start=window_start,
        window_end=window_end,
        window_count=len(rows),
        negative_count=len(negative),
        recent_count=sum(1 for h in rows if h.posted_at >= recent_start),
        history=STEADY,
        harm_count=len(harm),
        recent_harm_count=sum(1 for h in harm if h.posted_at >= recent_start),
        positive_count=sum(1 for h in rows if h.sentiment == "positive"),
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
        hit(11, "positive", sensitive_score=0.4, sensitive_terms=("投诉",)),
        hit(12, "positive"),
        hit(20, "negative"),  # before the window
    ]  # fmt: skip
    summary = await window_stats(session, watchlist, NOW, STEADY, replayed=hits)
    assert (summary.window_count, summary.negative_count, summary.recent_count) == (6, 3, 3)
    # Harm: the three negative ones and the positive one carrying a sensitive term.
    assert (summary.harm_count, summary.recent_harm_count, summary.positive_count) == (4, 3, 2)
    assert summary.followers == 3_000_200 and summary.views == 10_105
    assert summary.media_authors == ("晨潮新闻",) and summary.kol_authors == ()
    # Sensitive terms are read from negative mentions only.
    assert summary.sensitive_mentions == 2 and summary.sensitive_max == 0.9
    assert summary.sensitive_terms == ("异物", "致癌")
    assert summary.crisis_type is CrisisType.PRODUCT_QUALITY and summary.crisis_mentions == 2
    assert summary.crisis_evidence == ("变质×1", "异物×1")
    assert summary.top_story == StoryStats(story, window_count=2, negative_authors=2, harm_count=2)
    assert summary.top_mention_ids[0] == hits[0].mention_id
    assert len(summary.top_mention_ids) == 6
    assert summary == reference_stats(hits, NOW)


async def test_an_empty_window_has_no_figures(session: AsyncSession) -> None:
    summary = await window_stats(session, uuid.uuid4(), NOW, STEADY, replayed=[])
    assert summary == WindowStats(
        window_start=WINDOW_START, window_end=NOW, window_count=0, negative_count=0,
        recent_count=0, history=STEADY,
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


async def _store_hits(
    session: AsyncSession, posted: Sequence[tuple[datetime, str, float]]
) -> Watchlist:
    """Store one watchlist's hits (posting time, sentiment, sensitive score) and their
    analyses, counted in the rollups as the pipeline counts them; return the watchlist."""
    org = await make_organization(session)
    watchlist = make_watchlist(session, org, "w", ["x"])
    mentions = [make_mention(session, org, "x", at) for at, _, _ in posted]
    await session.flush()
    await writes.insert_hits(
        session,
        [
            HitRow(watchlist.id, m.posted_at, m.id, org, sentiment, sensitive_score=score)
            for m, (_, sentiment, score) in zip(mentions, posted, strict=True)
        ],
    )
    await writes.insert_analyses(
        session,
        [
            analysis_row(m, [watchlist.id], sentiment, score)
            for m, (_, sentiment, score) in zip(mentions, posted, strict=True)
        ],
    )
    await writes.count_in_rollups(session, [m.id for m in mentions])
    return watchlist


def _replayed(posted: Sequence[tuple[datetime, str, float]], now: datetime) -> History:
    pairs = [(at, harmful(sentiment, score)) for at, sentiment, score in posted]
    return history(window_counts(pairs, now), min(at for at, _ in pairs), now)


@pytest.mark.parametrize("now", [datetime(2026, 3, 1, 12, 0, tzinfo=UTC), SLIDING])
async def test_sql_history_matches_the_in_memory_one(session: AsyncSession, now: datetime) -> None:
    """The rollups and a replay count mentions and harm per window alike, at every boundary
    of the clock's quarter-hours, whether the window starts on one or between two."""
    end = history_end(now)
    day = 86_400
    offsets = [0, 1, 899, 900, 901, 3600, 86_399, 86_400, 86_401, 87_300, 87_301, 90_000]
    # The seasonal slots: each day back, the window on either side and their edges.
    edges = (-1801, -1800, -900, 0, 899, 900, 1799, 1800, 1801)
    offsets += [d * day + s for d in range(1, SEASON_DAYS + 1) for s in edges]
    offsets += [SEASON_DAYS * day + 5_000]  # the first mention, before every slot
    kinds = [("negative", 0.0), ("neutral", 0.0), ("positive", 0.5), ("positive", 0.0)]
    posted = [(end - timedelta(seconds=s), *kinds[i % len(kinds)]) for i, s in enumerate(offsets)]
    posted.append((now, "negative", 0.0))
    posted.append((now - WINDOW - timedelta(seconds=30), "negative", 0.0))  # before the window
    stored = await watchlist_history(session, await _store_hits(session, posted), now)
    assert stored == _replayed(posted, now)
    assert stored.kind is BaselineKind.SEASONAL and len(stored.seasonal) == 3 * SEASON_DAYS
    assert len(stored.harm) == BASELINE_WINDOWS and sum(stored.volume) > 6
    assert sum(stored.seasonal) > 0 and 0 < sum(stored.harm) < sum(stored.volume)


async def test_hits_not_yet_in_the_rollups_count_from_memory(session: AsyncSession) -> None:
    """A batch decides before it adds its hits to the rollups; they count all the same."""
    now = SLIDING
    end = history_end(now)
    counted = [(end - timedelta(minutes=m), "neutral", 0.0) for m in (200, 31, 14)]
    late = [(end - timedelta(minutes=m), "negative", 0.0) for m in (44, 14, 1)]
    watchlist = await _store_hits(session, counted)
    uncounted = [(at, harmful(sentiment, score)) for at, sentiment, score in late]
    stored = await watchlist_history(session, watchlist, now, uncounted)
    assert stored == _replayed(counted + late, now)
    assert stored.harm[-1] == 2 and stored.volume[-1] == 3 and stored.harm[-3] == 1
    assert stored != await watchlist_history(session, watchlist, now)


async def test_a_history_outlives_the_raw_mentions(session: AsyncSession) -> None:
    """Retention deletes raw mentions and keeps the rollups: a week's baseline stays."""
    end = history_end(SLIDING)
    posted = [
        (end - timedelta(days=7, hours=2), "neutral", 0.0),
        (end - timedelta(minutes=20), "negative", 0.0),
    ]
    watchlist = await _store_hits(session, posted)
    before = await watchlist_history(session, watchlist, SLIDING)
    assert before.kind is BaselineKind.SEASONAL and sum(before.harm) == 1
    await session.exec(  # type: ignore[call-overload]
        text("DELETE FROM mention WHERE organization_id = :org"),
        params={"org": watchlist.organization_id},
    )
    assert await watchlist_history(session, watchlist, SLIDING) == before


async def test_a_history_starts_at_the_first_mention(session: AsyncSession) -> None:
    """Backfilled posts count by posting time; the windows before the first one are unknown."""
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    posted = [(now - timedelta(minutes=m), "neutral", 0.0) for m in (178, 150, 100, 40, 1)]
    stored = await watchlist_history(session, await _store_hits(session, posted), now)
    assert stored == _replayed(posted, now)
    # 178 minutes back from `now` is 163 before the window's start: the 11th window back.
    assert stored.windows == 11 and len(stored.harm) == 11 and stored.volume[0] == 1
    assert stored.kind is BaselineKind.RECENT and stored.span == timedelta(hours=2.75)
    young = [(now - timedelta(minutes=m), "negative", 0.0) for m in (100, 1)]
    young_watchlist = await _store_hits(session, young)
    early = await watchlist_history(session, young_watchlist, now)
    assert early.windows == 6 < MIN_HISTORY_WINDOWS and early.kind is BaselineKind.NONE
    nothing = Watchlist(organization_id=young_watchlist.organization_id, name="none")
    assert await watchlist_history(session, nothing, now) == History()


def test_harm_is_negative_or_sensitive_in_sql_and_in_python() -> None:
    assert HARMFUL == "(sentiment = 'negative' OR sensitive_score > 0)"
    assert harmful("negative", 0.0) and harmful("positive", 0.3) and harmful("neutral", 0.1)
    assert not harmful("positive", 0.0) and not harmful("neutral", 0.0)


def test_window_counts_count_each_earlier_window() -> None:
    """History windows are the clock's quarter-hours before the current window, start included."""
    end = history_end(NOW)
    assert end == WINDOW_START  # NOW is on a quarter-hour, so the window starts on one
    posted = [
        (end - timedelta(seconds=1), True),  # the window just before: index 1
        (end - timedelta(minutes=15), False),  # a quarter-hour's first instant: still 1
        (end - timedelta(minutes=15, seconds=1), True),  # index 2
        (end - timedelta(hours=24), True),  # the oldest recent window's start: 96
        (end - timedelta(hours=24, seconds=1), True),  # a seasonal slot: 97
        (end - timedelta(hours=30), True),  # neither: not counted
        (NOW, True),  # the current window: not history
    ]
    counts = window_counts(posted, NOW)
    assert counts == {1: (2, 1), 2: (1, 1), 96: (1, 1), 97: (1, 1)}
    full = history(counts, NOW - timedelta(days=8), NOW)
    assert full.harm[-1] == 1 and full.volume[-1] == 2 and full.harm[0] == 1
    assert len(full.harm) == BASELINE_WINDOWS and full.windows > SEASON_WINDOWS
    assert full.kind is BaselineKind.SEASONAL
    assert window_index(NOW, NOW) == 0


def test_the_history_stops_at_the_quarter_hour_before_a_sliding_window() -> None:
    """Seven minutes later the window starts at 19:52, and the history still ends at 19:45."""
    later = NOW + timedelta(minutes=7)
    assert history_end(later) == WINDOW_START
    assert history_index(WINDOW_START + timedelta(minutes=5), later) == 0  # in neither
    assert history_index(WINDOW_START - timedelta(microseconds=1), later) == 1
    assert history_index(WINDOW_START - timedelta(minutes=15), later) == 1
    assert history_index(WINDOW_START - timedelta(minutes=15, microseconds=1), later) == 2


@pytest.mark.parametrize("minutes", [0, 1, 7, 14, 15, 29])
def test_the_history_spans_are_whole_buckets_within_the_replayed_span(minutes: int) -> None:
    """Each span starts and ends on a quarter-hour, and a replay reading HISTORY_SPAN holds all."""
    now = NOW + timedelta(minutes=minutes, seconds=13)
    spans = history_ranges(now)
    assert min(start for start, _ in spans) >= now - HISTORY_SPAN
    for start, stop in spans:
        assert (start - ORIGIN) % WINDOW == timedelta(0) == (stop - ORIGIN) % WINDOW
        # A span holds exactly the windows it names: its first and last instants' indexes.
        first = history_index(stop - timedelta(microseconds=1), now)
        last = history_index(start, now)
        assert last - first + 1 == (stop - start) / WINDOW
    named = {1, BASELINE_WINDOWS} | set(seasonal_indexes())
    covered = {
        history_index(start + WINDOW * k, now)
        for start, stop in spans
        for k in range(int((stop - start) / WINDOW))
    }
    assert named <= covered


def test_a_row_class_naming_a_column_its_table_lacks_is_refused() -> None:
    with pytest.raises(TypeError, match="folowers"):

        @table_row
        @dataclasses.dataclass(frozen=True)
        class Misspelt:
            TABLE: ClassVar[type[SQLModel]] = WatchlistHit
            watchlist_id: uuid.UUID
            folowers: int
