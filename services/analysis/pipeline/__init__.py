"""The analysis of a `mention.ingested` batch as named stages over one typed `Batch`.

prepare → match → score sentiment → stories → influence → hits → window → decide → story
counts → rollups: load the unanalysed mentions and the organization's rules and prepare
their text; match watch rules, sensitive terms and crisis cues; segment and classify
sentiment; place each mention in a story with its repost parent; score its author's
influence; store analyses and watchlist hits; lock and summarise each matched watchlist's
window; decide its tier; count the stored mentions in their stories; add the stored
analyses to the dashboard and author rollups.

Rows are locked in one order, watchlists, then stories, then the rollups' rows, each as
late as it can be, so concurrent batches queue rather than deadlock and wait only briefly.
"""

import time
from collections.abc import Awaitable, Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from services.analysis.pipeline.batch import Batch
from services.analysis.pipeline.stages import (
    count_in_rollups,
    count_in_stories,
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
    count_in_stories,
    count_in_rollups,
)


async def run(session: AsyncSession, batch: Batch) -> Batch:
    """Run every stage over the batch in order; a batch with nothing left to analyse stops.

    Each stage's seconds go in `batch.seconds`: at ten million mentions the batch was slower
    than on an empty database, and only a per-stage figure says which stage to look at.
    """
    for stage in STAGES:
        started = time.perf_counter()
        await stage(session, batch)
        batch.seconds[stage.__name__] = time.perf_counter() - started
        if not batch.mentions:
            break
    return batch


__all__ = ["STAGES", "Batch", "Stage", "run"]
