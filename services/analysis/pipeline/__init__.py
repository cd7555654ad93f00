"""The analysis of a `mention.ingested` batch as named stages over one typed `Batch`.

prepare → match → score sentiment → stories → influence → hits → window → decide → rollups:
load the unanalysed mentions and the organization's rules and prepare their text; match
watch rules, sensitive terms and crisis cues; segment and classify sentiment; place each
mention in a story with its repost parent; score its author's influence; store analyses
and watchlist hits; summarise each matched watchlist's window; decide its tier; add the
stored analyses to the dashboard and author rollups.
"""

from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from services.analysis.pipeline.batch import Batch
from services.analysis.pipeline.stages import (
    count_in_rollups,
    decide,
    match_rules,
    place_in_stories,
    prepare,
    read_windows,
    score_influence,
    score_sentiment,
    store_hits,
)

Stage = Callable[[AsyncSession, Batch], Awaitable[None]]

STAGES: tuple[Stage, ...] = (
    prepare,
    match_rules,
    score_sentiment,
    place_in_stories,
    score_influence,
    store_hits,
    read_windows,
    decide,
    count_in_rollups,
)


async def run(session: AsyncSession, batch: Batch) -> Batch:
    """Run every stage over the batch in order; a batch with nothing left to analyse stops."""
    for stage in STAGES:
        await stage(session, batch)
        if not batch.mentions:
            break
    return batch


__all__ = ["STAGES", "Batch", "Stage", "run"]
