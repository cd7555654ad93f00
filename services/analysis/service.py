"""Handlers of the analysis service: analyse mention batches, decide tiers, manage rules.

Every function takes the caller's session and never commits; messages to emit are
returned, and the worker harness publishes them after its commit.
"""

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import MentionIngested, RiskSignalRaised
from libs.database.tables import RiskSignal
from libs.messaging import live
from services.analysis import repository, risk
from services.analysis.analyzer import Analyzer, MentionText, Verdict, compile_profile
from services.analysis.influence import influence, is_amplifier
from services.analysis.repository import PendingMention
from services.analysis.stories import band_keys
from services.analysis.story_assignment import StoryItem, assign


async def analyze_mentions(
    session: AsyncSession, analyzer: Analyzer, message: MentionIngested, *, now: datetime
) -> list[RiskSignalRaised]:
    """Analyse the batch's unanalysed mentions, then re-decide every watchlist they matched."""
    organization_id = message.organization_id
    pending = await repository.pending_mentions(session, organization_id, message.mention_ids)
    if not pending:
        return []
    profile = compile_profile(await repository.org_config(session, organization_id))
    verdicts = await asyncio.to_thread(
        analyzer.analyze_batch,
        [MentionText(id=m.id, text=m.text_normalized, source=m.source) for m in pending],
        profile,
    )
    by_id = {m.id: m for m in pending}
    stories, parents = await _place_in_stories(session, organization_id, pending, verdicts)
    # Locks before foreign-key inserts, stories then watchlists, each in id order: see
    # `repository.lock_stories` for the deadlock this prevents.
    await repository.lock_stories(session, {s for s in stories.values() if s is not None})
    await repository.lock_watchlists(
        session, sorted({w for v in verdicts for w in v.watchlist_ids})
    )
    influences = {
        m.id: influence(
            m.followers,
            m.verified,
            m.kind,
            reposts=m.reposts,
            comments=m.comments,
            likes=m.likes,
            views=m.views,
        )
        for m in pending
    }
    stored = await repository.insert_analyses(
        session,
        [
            _analysis_row(v, by_id[v.mention_id], stories, parents, influences, now)
            | {"organization_id": organization_id}
            for v in verdicts
        ],
    )
    # Only what this call stored counts: a concurrent delivery already decided the rest.
    kept = [v for v in verdicts if v.mention_id in stored]
    await repository.update_stories(
        session,
        [
            (story, v.mention_id, by_id[v.mention_id].author_id, by_id[v.mention_id].posted_at)
            for v in kept
            if (story := stories.get(v.mention_id)) is not None
        ],
    )
    await repository.insert_hits(
        session,
        [
            _hit_row(v, by_id[v.mention_id], watchlist_id, stories, influences, organization_id)
            for v in kept
            for watchlist_id in v.watchlist_ids
        ],
    )
    for verdict in kept:
        live.stage(
            session,
            _mention_notice(organization_id, verdict, by_id[verdict.mention_id], stories),
        )
    matched = sorted({w for v in kept for w in v.watchlist_ids})
    return await decide_tiers(session, organization_id, matched, now=now)


def _mention_notice(
    organization_id: uuid.UUID,
    verdict: Verdict,
    mention: PendingMention,
    stories: dict[uuid.UUID, uuid.UUID | None],
) -> live.Notice:
    """Tell live subscribers a mention was analysed, with what their filters read."""
    return live.mention_notice(
        organization_id,
        mention.id,
        live.MentionFacts(
            watchlist_ids=list(verdict.watchlist_ids),
            sentiment=verdict.sentiment.label.value,
            source=mention.source,
            story_id=stories.get(mention.id),
            posted_at=mention.posted_at,
        ),
    )


async def _place_in_stories(
    session: AsyncSession,
    organization_id: uuid.UUID,
    pending: Sequence[PendingMention],
    verdicts: Sequence[Verdict],
) -> tuple[dict[uuid.UUID, uuid.UUID | None], dict[uuid.UUID, uuid.UUID]]:
    """Assign stories and repost parents; persist new stories and their band keys."""
    by_id = {m.id: m for m in pending}
    reposted = await repository.parents_by_external_id(
        session, organization_id, {(m.source, m.repost_of) for m in pending if m.repost_of}
    )
    parents: dict[uuid.UUID, uuid.UUID] = {}
    known: dict[uuid.UUID, uuid.UUID | None] = {}
    for mention in pending:
        found = reposted.get((mention.source, mention.repost_of or ""))
        if found is not None and found[0] != mention.id:
            parents[mention.id] = found[0]
            known[found[0]] = found[1]
    keys = {k for v in verdicts if v.signature is not None for k in band_keys(v.signature)}
    index = await repository.story_index(session, organization_id, keys)
    assignment = assign(
        [
            StoryItem(
                mention_id=v.mention_id,
                posted_at=by_id[v.mention_id].posted_at,
                signature=v.signature,
                parent_mention_id=parents.get(v.mention_id),
            )
            for v in verdicts
        ],
        index,
        known,
    )
    await repository.insert_stories(
        session,
        organization_id,
        [
            (
                new,
                _title(verdicts, new.first_mention_id),
                by_id[new.first_mention_id].author_id,
            )
            for new in assignment.new_stories
        ],
    )
    # Only a story's first post claims band keys: later members are compared with it, and
    # the table grows with stories rather than with mentions (40 keys each).
    await repository.claim_bands(
        session,
        organization_id,
        [(key, new.id) for new in assignment.new_stories for key in new.band_keys],
    )
    # A `//@handle:` chain names whom a repost without a platform parent id came through.
    wanted = {
        (story, v.prepared.chain[0].handle): v.mention_id
        for v in verdicts
        if v.mention_id not in parents
        and v.prepared.chain
        and (story := assignment.story_of.get(v.mention_id)) is not None
    }
    found_chain = await repository.chain_parents(session, organization_id, wanted.keys())
    in_batch = {
        (assignment.story_of.get(m.id), m.handle): m.id for m in pending if m.handle is not None
    }
    for pair, mention_id in wanted.items():
        parent = in_batch.get(pair) or found_chain.get(pair)
        if parent is not None and parent != mention_id:
            parents[mention_id] = parent
    return assignment.story_of, parents


def _title(verdicts: Sequence[Verdict], mention_id: uuid.UUID) -> str:
    verdict = next(v for v in verdicts if v.mention_id == mention_id)
    return verdict.prepared.own or verdict.prepared.simplified


def _analysis_row(
    verdict: Verdict,
    mention: PendingMention,
    stories: dict[uuid.UUID, uuid.UUID | None],
    parents: dict[uuid.UUID, uuid.UUID],
    influences: dict[uuid.UUID, float],
    now: datetime,
) -> dict[str, Any]:
    sentiment = verdict.sentiment
    return {
        "mention_id": verdict.mention_id,
        "posted_at": mention.posted_at,
        "sentiment": sentiment.label.value,
        "sentiment_score": sentiment.score,
        "sentiment_probability": sentiment.probability,
        "sentiment_evidence": list(sentiment.evidence),
        "tokens": verdict.tokens,
        "hashtags": list(verdict.prepared.hashtags),
        "watchlist_ids": verdict.watchlist_ids,
        "matched_keywords": verdict.matched_terms,
        "sensitive_score": verdict.sensitive.score,
        "sensitive_hits": [
            {"term": h.term, "category": h.category.value, "weight": h.weight}
            for h in verdict.sensitive.hits
        ],
        "crisis_type": verdict.crisis.crisis_type.value if verdict.crisis.crisis_type else None,
        "crisis_confidence": verdict.crisis.confidence,
        "crisis_evidence": list(verdict.crisis.evidence),
        "story_id": stories.get(verdict.mention_id),
        "parent_mention_id": parents.get(verdict.mention_id),
        "influence": influences[verdict.mention_id],
        "amplifier": is_amplifier(mention.kind, influences[verdict.mention_id]),
        "analyzed_at": now,
    }


def _hit_row(
    verdict: Verdict,
    mention: PendingMention,
    watchlist_id: uuid.UUID,
    stories: dict[uuid.UUID, uuid.UUID | None],
    influences: dict[uuid.UUID, float],
    organization_id: uuid.UUID,
) -> dict[str, Any]:
    return {
        "watchlist_id": watchlist_id,
        "posted_at": mention.posted_at,
        "mention_id": mention.id,
        "organization_id": organization_id,
        "author_id": mention.author_id,
        "author_handle": mention.handle,
        "author_kind": mention.kind,
        "followers": mention.followers,
        "views": mention.views,
        "influence": influences[mention.id],
        "sentiment": verdict.sentiment.label.value,
        "sensitive_score": verdict.sensitive.score,
        "sensitive_terms": [h.term for h in verdict.sensitive.hits],
        "crisis_type": verdict.crisis.crisis_type.value if verdict.crisis.crisis_type else None,
        "crisis_evidence": list(verdict.crisis.evidence),
        "story_id": stories.get(mention.id),
        "source": mention.source,
    }


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
        stats = await repository.window_stats(
            session,
            watchlist.id,
            now,
            await repository.watchlist_series(session, watchlist.id, now),
            last_spike_at=watchlist.last_spike_at,
            last_spike_count=watchlist.last_spike_count,
        )
        if stats.top_story is not None:
            baseline = await repository.story_series(session, stats.top_story.story_id, now)
            stats = replace(stats, top_story=replace(stats.top_story, baseline=baseline))
        decision = risk.assess(stats, risk.parse_tier(watchlist.current_tier))
        if decision.spike_fired:
            await repository.record_spike(session, watchlist.id, now, stats.window_count)
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
            crisis_type=stats.crisis_type.value if stats.crisis_type else None,
            story_id=stats.top_story.story_id if stats.top_story else None,
            forecast=decision.forecast.as_dict() if decision.forecast else None,
            window_start=stats.window_start,
            window_end=stats.window_end,
            created_at=now,
        )
        session.add(signal)
        live.stage(
            session,
            live.signal_notice(
                organization_id,
                signal.id,
                live.SignalFacts(watchlist_id=watchlist.id, tier=signal.tier, score=signal.score),
            ),
        )
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
                    crisis_type=stats.crisis_type,
                    story_id=signal.story_id,
                )
            )
    return raised
