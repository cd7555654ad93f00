"""Replay stored mentions through today's rules and print the signals they would have raised.

A backtest answers "had this rule (or this lexicon) been live last week, when would we
have been woken?" It reads in a READ ONLY transaction and keeps every result in memory,
so it cannot touch live data. It reuses the live path's pieces — the analyzer, story
assignment, the window statistics statement (run over the replayed hits instead of the
stored ones) and `risk.assess` — deciding at each mention's posting time as the live
worker decides when a batch arrives.
"""

import bisect
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Tier
from libs.copying import copy_into
from libs.database.tables import Watchlist
from libs.progress import Progress, silent
from services.analysis import risk
from services.analysis.analyzer import Analyzer, MentionText, OrgConfig, compile_profile
from services.analysis.hits import hit_row
from services.analysis.influence import post_influence
from services.analysis.repository import mentions, watchlists
from services.analysis.repository.mentions import AuthoredMention
from services.analysis.repository.rows import HitRow
from services.analysis.repository.window import window_stats
from services.analysis.rules import RuleError, parse
from services.analysis.story_assignment import StoryIndex, StoryItem, assign
from services.analysis.window import (
    HISTORY_SPAN,
    History,
    harmful,
    history,
    history_ranges,
    window_bounds,
    window_counts,
)

CHUNK = 2000
# The stages `run_backtest` reports progress for.
ANALYSE_STAGE = "analysing mentions"
REPLAY_STAGE = "replaying decisions"
# A post's time and whether it is harmful, as histories count them.
Posted = tuple[datetime, bool]


class BacktestError(ValueError):
    """The backtest cannot run as asked (unknown watchlist, bad rule, empty range)."""


@dataclass(frozen=True)
class ReplayedSignal:
    """A tier change the rules would have made."""

    at: datetime
    previous: Tier | None
    tier: Tier | None
    score: float
    reasons: list[str]
    components: dict[str, Any]
    top_mention_ids: tuple[uuid.UUID, ...]

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON form printed by `crisiswatch backtest --json`."""
        return {
            "at": self.at.isoformat(),
            "previous": self.previous.value if self.previous else risk.NO_TIER,
            "tier": self.tier.value if self.tier else risk.NO_TIER,
            "score": self.score,
            "reasons": self.reasons,
            "components": self.components,
            "top_mention_ids": [str(i) for i in self.top_mention_ids],
        }


@dataclass
class BacktestResult:
    """What a replay found."""

    watchlist_id: uuid.UUID
    watchlist_name: str
    query: str
    mentions_read: int = 0
    mentions_matched: int = 0
    signals: list[ReplayedSignal] = field(default_factory=list)


async def _mentions(
    session: AsyncSession, organization_id: uuid.UUID, start: datetime, until: datetime
) -> AsyncIterator[list[AuthoredMention]]:
    """Yield the organization's mentions in posting order, a chunk at a time (keyset paging)."""
    chunk = await mentions.mentions_between(
        session, organization_id, start, until, after=None, limit=CHUNK
    )
    while chunk:
        yield chunk
        chunk = await mentions.mentions_between(
            session, organization_id, start, until, after=chunk[-1], limit=CHUNK
        )


async def run_backtest(
    engine: AsyncEngine,
    analyzer: Analyzer,
    watchlist_id: uuid.UUID,
    since: datetime,
    until: datetime,
    *,
    query: str | None = None,
    progress: Progress = silent,
) -> BacktestResult:
    """Replay [since, until] (with the baseline span before it) for one watchlist.

    `progress` hears how many mentions are analysed (their total is not counted beforehand)
    and how many of the replayed instants are decided.
    """
    if until <= since:
        raise BacktestError("--until must be later than --since")
    async with AsyncSession(engine) as session:
        await session.exec(text("SET TRANSACTION READ ONLY"))  # type: ignore[call-overload]
        watchlist = await session.get(Watchlist, watchlist_id)
        if watchlist is None:
            raise BacktestError(f"no watchlist {watchlist_id}")
        rule = watchlist.query
        if query is not None:
            try:
                rule = parse(query).to_query()
            except RuleError as error:
                message = f"--query: {error.message} (column {error.position + 1})"
                raise BacktestError(message) from error
        config = await watchlists.org_config(session, watchlist.organization_id)
        config = OrgConfig(
            watchlists=tuple(
                replace(w, query=rule) if w.id == watchlist_id else w for w in config.watchlists
            ),
            overrides=config.overrides,
        )
        profile = compile_profile(config)
        result = BacktestResult(watchlist_id, watchlist.name, rule)
        hits: list[HitRow] = []
        story_posts: dict[uuid.UUID, list[Posted]] = defaultdict(list)
        index = StoryIndex()
        start = since - HISTORY_SPAN
        async for chunk in _mentions(session, watchlist.organization_id, start, until):
            result.mentions_read += len(chunk)
            progress(ANALYSE_STAGE, result.mentions_read, None)
            verdicts = analyzer.analyze_batch(
                [MentionText(m.id, m.text_normalized, m.source) for m in chunk], profile
            )
            placed = assign(
                [
                    StoryItem(v.mention_id, m.posted_at, v.signature)
                    for v, m in zip(verdicts, chunk, strict=True)
                ],
                index,
            )
            for verdict, mention in zip(verdicts, chunk, strict=True):
                story = placed.story_of.get(mention.id)
                if story is not None:
                    sentiment = verdict.scored.sentiment.label.value
                    harm = harmful(sentiment, verdict.matched.sensitive.score)
                    story_posts[story].append((mention.posted_at, harm))
                if watchlist_id in verdict.matched.watchlist_ids:
                    hits.append(
                        hit_row(
                            mention,
                            watchlist_id,
                            watchlist.organization_id,
                            matched=verdict.matched,
                            sentiment=verdict.scored.sentiment.label.value,
                            influence=post_influence(mention),
                            story_id=story,
                        )
                    )
        progress(ANALYSE_STAGE, result.mentions_read, result.mentions_read)
        result.mentions_matched = sum(1 for h in hits if h.posted_at >= since)
        result.signals = await replay(
            session, watchlist_id, hits, story_posts, since, until, progress
        )
        await session.rollback()
    return result


def _counts(posted: Sequence[Posted], now: datetime) -> dict[int, tuple[int, int]]:
    """Count sorted posts per window over the spans a history reads (bisected, not scanned)."""
    found: list[Posted] = []
    spans: list[tuple[datetime, datetime]] = []
    for start, end in sorted(history_ranges(now)):
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    for start, end in spans:
        found.extend(posted[_before(posted, start) : _before(posted, end)])
    return window_counts(found, now)


def _before(posted: Sequence[Posted], at: datetime) -> int:
    """Return the position after every post before `at` (the spans are [start, end))."""
    return bisect.bisect_left(posted, (at, False))


def _history(posted: Sequence[Posted], now: datetime) -> History:
    """Build the history before `now` of sorted posts, starting at the first of them."""
    first = posted[0][0] if posted and posted[0][0] <= now else None
    return history(_counts(posted, now), first, now)


async def replay(
    session: AsyncSession,
    watchlist_id: uuid.UUID,
    hits: Sequence[HitRow],
    story_posts: dict[uuid.UUID, list[Posted]],
    since: datetime,
    until: datetime,
    progress: Progress = silent,
) -> list[ReplayedSignal]:
    """Decide at every posting time in [since, until], carrying tier and spike state along."""
    ordered = sorted(hits, key=lambda h: (h.posted_at, str(h.mention_id)))
    times = [h.posted_at for h in ordered]
    posted = sorted((h.posted_at, harmful(h.sentiment, h.sensitive_score)) for h in ordered)
    for posts in story_posts.values():
        posts.sort()
    tier: Tier | None = None
    last_spike: tuple[datetime, int] | None = None
    signals: list[ReplayedSignal] = []
    instants = sorted({t for t in times if since <= t <= until})
    progress(REPLAY_STAGE, 0, len(instants))
    for done, now in enumerate(instants, start=1):
        _, window_start, _, _ = window_bounds(now)
        window = ordered[bisect.bisect_left(times, window_start) : bisect.bisect_right(times, now)]
        past = _history(posted, now)
        stats = await window_stats(
            session,
            watchlist_id,
            now,
            past,
            replayed=window,
            last_spike_at=last_spike[0] if last_spike else None,
            last_spike_count=last_spike[1] if last_spike else None,
        )
        if stats.top_story is not None:
            story = _counts(story_posts.get(stats.top_story.story_id, []), now)
            length = len(past.harm)
            stats = stats.with_story_baseline(
                tuple(story.get(i, (0, 0))[1] for i in range(length, 0, -1))
            )
        decision = risk.assess(stats, tier)
        if decision.spike_fired:
            last_spike = (now, stats.harm_count)
        if decision.changed:
            signals.append(
                copy_into(ReplayedSignal, decision, at=now, top_mention_ids=stats.top_mention_ids)
            )
            tier = decision.tier
        progress(REPLAY_STAGE, done, len(instants))
    return signals
