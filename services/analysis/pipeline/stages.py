"""The stages of a batch, in the order the pipeline runs them; each fills its part of `Batch`.

Stages take the caller's session and never commit. The CPU-bound ones (match, sentiment,
MinHash signatures) run in a thread, so the event loop stays free for other jobs.
"""

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Final

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import RiskSignalRaised, RiskTierFell
from libs.database.tables import RiskSignal, Watchlist
from libs.messaging import live
from libs.metrics.commit import after_commit
from libs.metrics.definitions import RISK_SIGNALS
from services.analysis import risk, stories
from services.analysis.analyzer import compile_profile, match
from services.analysis.hits import hit_row
from services.analysis.influence import is_amplifier, post_influence
from services.analysis.pipeline.backfill import due_after_backfill, is_backfill, settling
from services.analysis.pipeline.batch import Batch, WatchlistWindow
from services.analysis.repository import mentions, watchlists, window, writes
from services.analysis.repository import stories as story_rows
from services.analysis.repository.mentions import AuthoredMention
from services.analysis.repository.rows import AnalysisRow, StoryRow
from services.analysis.story_assignment import (
    Assignment,
    StoryIndex,
    StoryItem,
    assign,
    revived_bands,
)
from services.analysis.textprep import prepare as prepare_text
from services.analysis.window import harmful


async def prepare(session: AsyncSession, batch: Batch) -> None:
    """Load the batch's unanalysed mentions and the organization's rules; prepare their text."""
    batch.mentions = await mentions.pending_mentions(
        session, batch.organization_id, batch.mention_ids
    )
    if not batch.mentions:
        return
    batch.compiled = compile_profile(await watchlists.org_config(session, batch.organization_id))
    batch.drill_watchlists = await watchlists.drill_watchlists(session, batch.organization_id)
    batch.prepared = await asyncio.to_thread(
        lambda: {m.id: prepare_text(m.text_normalized) for m in batch.mentions}
    )


async def match_rules(session: AsyncSession, batch: Batch) -> None:
    """Match each mention against the watch rules, the sensitive terms and the crisis cues.

    A drill's mentions reach only its own watchlist, and real mentions only real ones, so a
    drill never raises a real incident, and neither a real crisis nor another drill counts
    in a drill.
    """
    profile, drills = batch.profile, batch.drill_watchlists
    matched = await asyncio.to_thread(
        lambda: {m.id: match(batch.prepared[m.id], m.source, profile) for m in batch.mentions}
    )
    drilled = frozenset(drills.values())
    if drilled or any(m.drill_id for m in batch.mentions):
        # A drill's mention reaches its drill's watchlist alone; a real one, no drill's.
        def reaches(mention: AuthoredMention, watchlist_id: uuid.UUID) -> bool:
            if mention.drill_id is None:
                return watchlist_id not in drilled
            return watchlist_id == drills.get(mention.drill_id)

        matched = {
            m.id: replace(
                matched[m.id], matches=[x for x in matched[m.id].matches if reaches(m, x.rule_id)]
            )
            for m in batch.mentions
        }
    batch.matched = matched


async def score_sentiment(session: AsyncSession, batch: Batch) -> None:
    """Segment each mention, keeping the organization's terms whole, and classify its sentiment."""
    profile, analyzer = batch.profile, batch.analyzer
    batch.scored = await asyncio.to_thread(
        lambda: {m.id: analyzer.score(batch.prepared[m.id], profile) for m in batch.mentions}
    )


PLACEMENT_ATTEMPTS: Final = 3
"""Placements of one batch before it keeps what it has: each retry needs yet another worker
to commit a story of the same post while this one was placing it."""


async def place_in_stories(session: AsyncSession, batch: Batch) -> None:
    """Assign stories and repost parents; store new stories and the band keys they claim.

    Each worker reads the band-key index in its own transaction, so two workers analysing
    the first copies of one post at the same instant both start a story. Their claims
    decide it: the unique key makes the later claim wait for the earlier transaction, and
    a batch whose new story's first post belongs in a story committed meanwhile discards
    its new stories and places the batch again against the index as it now stands, as if
    it had run second. Analysis of an organization is never serialised for this.
    """
    organization_id = batch.organization_id
    batch.signatures = await asyncio.to_thread(
        lambda: {m.id: stories.signature(batch.prepared[m.id].matching) for m in batch.mentions}
    )
    reposted = await story_rows.parents_by_external_id(
        session,
        organization_id,
        {(m.source, m.repost_of) for m in batch.mentions if m.repost_of},
    )
    known: dict[uuid.UUID, uuid.UUID | None] = {}
    for mention in batch.mentions:
        found = reposted.get((mention.source, mention.repost_of or ""))
        if found is not None and found[0] != mention.id:
            batch.parents[mention.id] = found[0]
            known[found[0]] = found[1]
    items = [
        StoryItem(
            mention_id=m.id,
            posted_at=m.posted_at,
            signature=batch.signatures[m.id],
            parent_mention_id=batch.parents.get(m.id),
        )
        for m in batch.mentions
    ]
    # A repost whose parent already has a story joins it (`assign`): its keys are not read.
    keys = {
        k
        for m in batch.mentions
        if (s := batch.signatures[m.id]) is not None
        and ((parent := batch.parents.get(m.id)) is None or known.get(parent) is None)
        for k in stories.band_keys(s)
    }
    for attempt in range(1, PLACEMENT_ATTEMPTS + 1):
        index = await story_rows.story_index(session, organization_id, keys)
        assignment = assign(items, index, known)
        joins_other = await _store_new_stories(session, batch, index, assignment)
        if not joins_other or attempt == PLACEMENT_ATTEMPTS:
            break
        await story_rows.delete_stories(session, [new.id for new in assignment.new_stories])
    # Once placement is final (a discarded attempt revives nothing): a quiet story posted to
    # again takes its recent keys back, after the new stories' keys are won.
    revived = revived_bands(index, assignment)
    if revived:
        await story_rows.claim_bands(session, organization_id, revived)
    batch.story_of = assignment.story_of
    await _chain_parents(session, batch)


async def _store_new_stories(
    session: AsyncSession, batch: Batch, index: StoryIndex, assignment: Assignment
) -> bool:
    """Store the batch's new stories and claim their keys; say if one belongs in another.

    Only a story's first post claims band keys, and only the keys the index gave it: later
    members are compared with it, and the table grows with stories rather than with
    mentions (40 keys each); a story that had given its recent keys back takes them again
    once placement is final (`place_in_stories`). A key the index gave a new story but the
    claim did not win was taken by a story another transaction committed meanwhile; the new
    story belongs in it when its first post is as similar as a copy must be
    (`StoryIndex.nearest`).
    """
    by_id = {m.id: m for m in batch.mentions}
    await story_rows.insert_stories(
        session,
        [
            StoryRow(
                id=new.id,
                organization_id=batch.organization_id,
                title=_title(batch, new.first_mention_id)[:300],
                first_mention_id=new.first_mention_id,
                first_author_id=by_id[new.first_mention_id].author_id,
                signature=new.signature.to_bytes() if new.signature else None,
                mention_count=0,
                started_at=new.started_at,
                last_posted_at=new.started_at,
            )
            for new in assignment.new_stories
        ],
    )
    started = {new.id for new in assignment.new_stories}
    claims = [(key, story) for key, story in index.bands.items() if story in started]
    won = await story_rows.claim_bands(session, batch.organization_id, claims)
    lost = {key for key, _ in claims} - won
    if not lost:
        return False
    taken = await story_rows.story_index(session, batch.organization_id, lost)
    return any(
        taken.nearest(new.signature, new.band_keys) is not None
        for new in assignment.new_stories
        if new.signature is not None
    )


async def _chain_parents(session: AsyncSession, batch: Batch) -> None:
    """Find whom a repost without a platform parent id came through, by its `//@handle:` chain."""
    wanted = {
        (story, chain[0].handle): m.id
        for m in batch.mentions
        if m.id not in batch.parents
        and (chain := batch.prepared[m.id].chain)
        and (story := batch.story_of.get(m.id)) is not None
    }
    found = await story_rows.chain_parents(session, batch.organization_id, wanted.keys())
    in_batch = {
        (batch.story_of.get(m.id), m.handle): m.id for m in batch.mentions if m.handle is not None
    }
    for pair, mention_id in wanted.items():
        parent = in_batch.get(pair) or found.get(pair)
        if parent is not None and parent != mention_id:
            batch.parents[mention_id] = parent


def _title(batch: Batch, mention_id: uuid.UUID) -> str:
    prepared = batch.prepared[mention_id]
    return prepared.own or prepared.simplified


async def score_influence(session: AsyncSession, batch: Batch) -> None:
    """Score how far each mention's author is likely to carry this post."""
    batch.influence = {m.id: post_influence(m) for m in batch.mentions}


async def store_hits(session: AsyncSession, batch: Batch) -> None:
    """Store analyses and watchlist hits; tell live subscribers what arrived.

    No lock a decision or a count takes is taken here. The rows' foreign keys share-lock
    their story and watchlist rows only against key changes (FOR KEY SHARE), which the
    later locks (FOR NO KEY UPDATE) do not conflict with. So a batch stores its rows while
    another decides the same watchlist, and waits only for the decision itself
    (`read_windows`).
    """
    stored = await writes.insert_analyses(
        session, [_analysis_row(batch, m) for m in batch.mentions]
    )
    # Only what this call stored counts: a concurrent delivery already decided the rest.
    batch.stored = [m for m in batch.mentions if m.id in stored]
    await writes.insert_hits(
        session,
        [
            hit_row(
                m,
                watchlist_id,
                batch.organization_id,
                matched=batch.matched[m.id],
                sentiment=batch.scored[m.id].sentiment.label.value,
                influence=batch.influence[m.id],
                story_id=batch.story_of.get(m.id),
            )
            for m in batch.stored
            for watchlist_id in batch.matched[m.id].watchlist_ids
        ],
    )
    for mention in batch.stored:
        live.stage(session, _mention_notice(batch, mention))


def _analysis_row(batch: Batch, mention: AuthoredMention) -> AnalysisRow:
    matched, sentiment = batch.matched[mention.id], batch.scored[mention.id].sentiment
    return AnalysisRow(
        mention_id=mention.id,
        organization_id=batch.organization_id,
        posted_at=mention.posted_at,
        sentiment=sentiment.label.value,
        sentiment_score=sentiment.score,
        sentiment_probability=sentiment.probability,
        sentiment_evidence=list(sentiment.evidence),
        tokens=batch.scored[mention.id].tokens,
        hashtags=list(batch.prepared[mention.id].hashtags),
        watchlist_ids=matched.watchlist_ids,
        matched_keywords=matched.matched_terms,
        sensitive_score=matched.sensitive.score,
        sensitive_hits=[
            {"term": h.term, "category": h.category.value, "weight": h.weight}
            for h in matched.sensitive.hits
        ],
        crisis_type=matched.crisis.crisis_type.value if matched.crisis.crisis_type else None,
        crisis_confidence=matched.crisis.confidence,
        crisis_evidence=list(matched.crisis.evidence),
        story_id=batch.story_of.get(mention.id),
        parent_mention_id=batch.parents.get(mention.id),
        influence=batch.influence[mention.id],
        amplifier=is_amplifier(mention.kind, batch.influence[mention.id]),
        analyzed_at=batch.now,
    )


def _mention_notice(batch: Batch, mention: AuthoredMention) -> live.Notice:
    """Tell live subscribers a mention was analysed, with what their filters read."""
    return live.mention_notice(
        batch.organization_id,
        mention.id,
        live.MentionFacts(
            watchlist_ids=list(batch.matched[mention.id].watchlist_ids),
            sentiment=batch.scored[mention.id].sentiment.label.value,
            source=mention.source,
            story_id=batch.story_of.get(mention.id),
            posted_at=mention.posted_at,
        ),
    )


async def read_windows(session: AsyncSession, batch: Batch) -> None:
    """Lock every watchlist the stored mentions matched and summarise its window at `now`.

    The batch's own hits are not in the rollups yet (`count_in_rollups` runs last), so each
    history adds them from memory.
    """
    uncounted: dict[uuid.UUID, list[tuple[datetime, bool]]] = {}
    for mention in batch.stored:
        sentiment = batch.scored[mention.id].sentiment.label.value
        harm = harmful(sentiment, batch.matched[mention.id].sensitive.score)
        for watchlist_id in batch.matched[mention.id].watchlist_ids:
            uncounted.setdefault(watchlist_id, []).append((mention.posted_at, harm))
    for watchlist in await watchlists.lock_watchlists(session, batch.watchlist_ids()):
        batch.windows.append(
            await read_window(session, watchlist, batch.now, uncounted.get(watchlist.id, ()))
        )


async def read_window(
    session: AsyncSession,
    watchlist: Watchlist,
    now: datetime,
    uncounted: Iterable[tuple[datetime, bool]] = (),
) -> WatchlistWindow:
    """Read a locked watchlist's window at `now`; a re-scoring pass reads it the same way."""
    return WatchlistWindow(watchlist, await window.read_window(session, watchlist, now, uncounted))


async def decide(session: AsyncSession, batch: Batch) -> None:
    """Decide each watchlist's tier; record changes and spikes, tell incidents rises and falls.

    A watchlist whose posts in this batch are mostly backfill is not decided now: its
    decision is marked due once the backfill has settled, and the re-scoring sweep takes it
    then, on the whole history (`pipeline.backfill`).
    """
    posted: dict[uuid.UUID, list[datetime]] = {}
    for mention in batch.stored:
        for watchlist_id in batch.matched[mention.id].watchlist_ids:
            posted.setdefault(watchlist_id, []).append(mention.posted_at)
    for watched in batch.windows:
        watchlist = watched.watchlist
        if is_backfill(posted.get(watchlist.id, []), batch.now):
            due = due_after_backfill(watchlist.decision_due_at, batch.now)
            watchlists.mark_decision_due(session, watchlist, due)
            continue
        told = await decide_window(session, batch.organization_id, watched, batch.now)
        if isinstance(told, RiskSignalRaised):
            batch.raised.append(told)
        elif told is not None:
            batch.fell.append(told)


async def decide_window(
    session: AsyncSession, organization_id: uuid.UUID, watched: WatchlistWindow, now: datetime
) -> RiskSignalRaised | RiskTierFell | None:
    """Decide one locked watchlist's tier at `now`; return what incidents must hear, if anything.

    A rise into crisis territory and any fall are told; a rise below it (to blue) is only
    recorded. Mention batches and the re-scoring pass both decide through here. A decision
    at or after a settling backfill's due time is the one it waited for and clears the mark;
    one before it (a live batch during the settle time) leaves it for the sweep.
    """
    watchlist, stats = watched.watchlist, watched.stats
    if watchlist.decision_due_at is not None and not settling(watchlist.decision_due_at, now):
        watchlists.mark_decision_due(session, watchlist, None)
    decision = risk.assess(stats, risk.parse_tier(watchlist.current_tier))
    if decision.spike_fired:
        await watchlists.record_spike(session, watchlist.id, now, stats.harm_count)
    if not decision.changed:
        return None
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
    watchlists.record_tier_change(session, watchlist, signal, decision.tier, now)
    after_commit(session, RISK_SIGNALS.labels(tier=signal.tier).inc)
    live.stage(
        session,
        live.signal_notice(
            organization_id,
            signal.id,
            live.SignalFacts(watchlist_id=watchlist.id, tier=signal.tier, score=signal.score),
        ),
    )
    about = {
        "organization_id": organization_id,
        "signal_id": signal.id,
        "watchlist_id": watchlist.id,
        "watchlist_name": watchlist.name,
        "score": decision.score,
        "reasons": decision.reasons,
        "detected_at": now,
    }
    if decision.raised and decision.tier is not None:
        return RiskSignalRaised(
            **about, tier=decision.tier, crisis_type=stats.crisis_type, story_id=signal.story_id
        )
    if decision.previous is not None and risk.rank(decision.tier) < risk.rank(decision.previous):
        return RiskTierFell(**about, previous_tier=decision.previous, tier=decision.tier)
    return None


async def count_in_stories(session: AsyncSession, batch: Batch) -> None:
    """Count the stored mentions in their stories and move first posts (首发), near the end.

    A story's row is locked from this update until the commit. Chatter and a burst often
    share a story (copies of one post), and when the update ran with the inserts, a batch
    held its stories through its window reads and decisions too: a burst joining a story
    waited up to 80 ms for a chatter batch's decisions at ten million mentions.
    """
    await story_rows.update_stories(
        session,
        [
            story_rows.StoryMember(story, m.id, m.author_id, m.posted_at)
            for m in batch.stored
            if (story := batch.story_of.get(m.id)) is not None
        ],
    )


async def count_in_rollups(session: AsyncSession, batch: Batch) -> None:
    """Add the stored analyses to the rollups, last: the current minute's rows are hot.

    Every worker adds to the same few rows of the current minute, and an upsert holds its
    row locked until the transaction commits; counted just before the commit, a batch
    waits for another only as long as that one takes to commit, not to decide.
    """
    await writes.count_in_rollups(session, [m.id for m in batch.stored])
