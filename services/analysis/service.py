"""Handlers of the analysis service: analyse mention batches, decide tiers, create watchlists.

Every function takes the caller's session and never commits; messages to emit are
returned, and the worker harness publishes them after its commit.
"""

import asyncio
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import (
    CommandResult,
    CreateWatchlist,
    MentionIngested,
    RiskSignalRaised,
)
from libs.database.tables import RiskSignal
from libs.text import normalize
from services.analysis import repository, risk
from services.analysis.analyzer import Analyzer
from services.analysis.matching import WatchlistRule

MAX_KEYWORDS = 200
MAX_KEYWORD_LENGTH = 100


async def analyze_mentions(
    session: AsyncSession, analyzer: Analyzer, message: MentionIngested, *, now: datetime
) -> list[RiskSignalRaised]:
    """Analyse the batch's unanalysed mentions, then re-decide every watchlist they matched."""
    pending = await repository.pending_mentions(
        session, message.organization_id, message.mention_ids
    )
    if not pending:
        return []
    rules = tuple(
        WatchlistRule(id=w.id, keywords=tuple(w.keywords))
        for w in await repository.watchlists(session, message.organization_id)
    )
    verdicts = await asyncio.to_thread(
        analyzer.analyze_batch, [(m.id, m.text_normalized) for m in pending], rules
    )
    stored = await repository.insert_analyses(
        session,
        [
            {
                "mention_id": v.mention_id,
                "organization_id": message.organization_id,
                "sentiment": v.sentiment.label.value,
                "sentiment_score": v.sentiment.score,
                "tokens": v.tokens,
                "watchlist_ids": v.match.watchlist_ids,
                "matched_keywords": v.match.keywords,
                "analyzed_at": now,
            }
            for v in verdicts
        ],
    )
    # Only what this call stored counts: a concurrent delivery already decided the rest.
    matched = sorted({w for v in verdicts if v.mention_id in stored for w in v.match.watchlist_ids})
    return await decide_tiers(session, message.organization_id, matched, now=now)


async def decide_tiers(
    session: AsyncSession,
    organization_id: uuid.UUID,
    watchlist_ids: Sequence[uuid.UUID],
    *,
    now: datetime,
) -> list[RiskSignalRaised]:
    """Score each watchlist's window at `now`, record tier changes, return raised signals."""
    raised: list[RiskSignalRaised] = []
    for watchlist in await repository.lock_watchlists(session, watchlist_ids):
        stats = await repository.window_stats(session, organization_id, watchlist.id, now)
        decision = risk.assess(stats, risk.parse_tier(watchlist.current_tier))
        if not decision.changed:
            continue
        signal = RiskSignal(
            organization_id=organization_id,
            watchlist_id=watchlist.id,
            tier=decision.tier.value if decision.tier else risk.NO_TIER,
            score=decision.score,
            components=decision.components,
            reasons=decision.reasons,
            top_mention_ids=list(stats.top_mention_ids),
            window_start=stats.window_start,
            window_end=stats.window_end,
            created_at=now,
        )
        session.add(signal)
        watchlist.current_tier = decision.tier.value if decision.tier else None
        watchlist.tier_changed_at = now
        session.add(watchlist)
        if decision.raised and decision.tier is not None:
            raised.append(
                RiskSignalRaised(
                    organization_id=organization_id,
                    signal_id=signal.id,
                    watchlist_id=watchlist.id,
                    watchlist_name=watchlist.name,
                    tier=decision.tier,
                    score=decision.score,
                    reasons=decision.reasons,
                    detected_at=now,
                )
            )
    return raised


def clean_keywords(raw: Sequence[str]) -> list[str] | CommandResult:
    """Normalise keywords like mention text, drop repeats, or explain why they are refused."""
    keywords: list[str] = []
    seen: set[str] = set()
    for value in raw:
        keyword = normalize(value)
        if not keyword:
            return CommandResult.failure("Invalid", "keywords must not be blank", field="keywords")
        if len(keyword) > MAX_KEYWORD_LENGTH:
            return CommandResult.failure(
                "Invalid",
                f"keyword {keyword[:20]!r}… is longer than {MAX_KEYWORD_LENGTH} characters",
                field="keywords",
            )
        if keyword.casefold() not in seen:
            seen.add(keyword.casefold())
            keywords.append(keyword)
    if not keywords:
        return CommandResult.failure(
            "Invalid", "at least one keyword is required", field="keywords"
        )
    if len(keywords) > MAX_KEYWORDS:
        return CommandResult.failure(
            "Invalid", f"at most {MAX_KEYWORDS} keywords are allowed", field="keywords"
        )
    return keywords


async def create_watchlist(
    session: AsyncSession, command: CreateWatchlist, *, now: datetime
) -> CommandResult:
    """Create a watchlist, refusing blank or oversized keywords and a name already in use."""
    name = normalize(command.name)
    if not name:
        return CommandResult.failure("Invalid", "name must not be blank", field="name")
    keywords = clean_keywords(command.keywords)
    if isinstance(keywords, CommandResult):
        return keywords
    watchlist = await repository.insert_watchlist(
        session, command.organization_id, name, keywords, now
    )
    if watchlist is None:
        return CommandResult.failure(
            "Conflict", f"a watchlist named {name!r} already exists", field="name"
        )
    return CommandResult.success(
        id=str(watchlist.id),
        name=watchlist.name,
        keywords=list(watchlist.keywords),
        created_at=watchlist.created_at.isoformat(),
    )
