"""The façade of the analysis service: every entry point calls these, each returns an Outcome.

Every function takes the caller's session and never commits; the messages to emit are in
the Outcome, and the caller's unit of work publishes them after its commit.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import (
    CreateWatchlist,
    MentionIngested,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.contracts.outcome import Outcome
from services.analysis import configuration, pipeline
from services.analysis.analyzer import Analyzer


async def analyze_mentions(
    session: AsyncSession, analyzer: Analyzer, message: MentionIngested, *, now: datetime
) -> Outcome:
    """Analyse the batch's new mentions, re-decide their watchlists, emit their rises and falls."""
    batch = pipeline.Batch(
        organization_id=message.organization_id,
        mention_ids=message.mention_ids,
        now=now,
        analyzer=analyzer,
    )
    await pipeline.run(session, batch)
    return Outcome.emit(*batch.raised, *batch.fell)


async def create_watchlist(
    session: AsyncSession, command: CreateWatchlist, *, now: datetime
) -> Outcome:
    """Create a watchlist and answer the caller."""
    return Outcome.answer(await configuration.create_watchlist(session, command, now=now))


async def update_watchlist(
    session: AsyncSession, command: UpdateWatchlist, *, now: datetime
) -> Outcome:
    """Change a watchlist and answer the caller."""
    return Outcome.answer(await configuration.update_watchlist(session, command, now=now))


async def set_sensitive_terms(
    session: AsyncSession, command: SetSensitiveTerms, *, now: datetime
) -> Outcome:
    """Change the organization's sensitive-term lexicon and answer the caller."""
    return Outcome.answer(await configuration.set_sensitive_terms(session, command, now=now))
