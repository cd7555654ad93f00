"""The façade of the analysis service: every entry point calls these, each returns an Outcome.

Every function takes the caller's session and never commits; the messages to emit are in
the Outcome, and the caller's unit of work publishes them after its commit.
"""

import time
import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import (
    CreateWatchlist,
    EndDrill,
    MentionIngested,
    SetSensitiveTerms,
    StartDrill,
    UpdateWatchlist,
)
from libs.contracts.outcome import Outcome
from services.analysis import configuration, pipeline
from services.analysis.analyzer import Analyzer
from services.analysis.drills import service as drills
from services.analysis.isolation import isolate
from services.analysis.measures import batch_analysed
from services.analysis.repository import failures


async def analyze_mentions(
    session: AsyncSession, analyzer: Analyzer, message: MentionIngested, *, now: datetime
) -> Outcome:
    """Analyse the batch's new mentions, re-decide their watchlists, emit their rises and falls.

    A mention that breaks the analyser fails alone (`isolation`): it gets a `mention_failure`
    row with the error, the others are analysed, and the message is done, not a dead letter.
    The failure rows of the mentions now analysed are deleted.
    """

    async def attempt(mention_ids: Sequence[uuid.UUID]) -> pipeline.Batch:
        batch = pipeline.Batch(
            organization_id=message.organization_id,
            mention_ids=mention_ids,
            now=now,
            analyzer=analyzer,
        )
        return await pipeline.run(session, batch)

    started = time.perf_counter()
    isolated = await isolate(session, message.mention_ids, attempt)
    await failures.record(
        session,
        message.organization_id,
        {m: f"{type(exc).__name__}: {exc}" for m, exc in isolated.failed.items()},
        now,
    )
    await failures.clear_analysed(session, message.mention_ids)
    batch_analysed(session, len(message.mention_ids), started, isolated.done)
    # Each try's rises and falls in the order the tries decided them.
    return Outcome.emit(*(told for b in isolated.done for told in (*b.raised, *b.fell)))


async def create_watchlist(
    session: AsyncSession, command: CreateWatchlist, *, now: datetime, quota: int = 0
) -> Outcome:
    """Create a watchlist, within the organization's `quota` of them (0: none), and answer."""
    return Outcome.answer(
        await configuration.create_watchlist(session, command, now=now, quota=quota)
    )


async def update_watchlist(
    session: AsyncSession, command: UpdateWatchlist, *, now: datetime
) -> Outcome:
    """Change a watchlist and answer the caller."""
    return Outcome.answer(await configuration.update_watchlist(session, command, now=now))


async def start_drill(session: AsyncSession, command: StartDrill, *, now: datetime) -> Outcome:
    """Start a drill on its own watchlist and answer its ids."""
    return Outcome.answer(await drills.start_drill(session, command, now=now))


async def end_drill(session: AsyncSession, command: EndDrill, *, now: datetime) -> Outcome:
    """End a drill with its score card and answer it."""
    return Outcome.answer(await drills.end_drill(session, command, now=now))


async def set_sensitive_terms(
    session: AsyncSession, command: SetSensitiveTerms, *, now: datetime
) -> Outcome:
    """Change the organization's sensitive-term lexicon and answer the caller."""
    return Outcome.answer(await configuration.set_sensitive_terms(session, command, now=now))
