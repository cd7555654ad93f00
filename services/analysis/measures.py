"""What analysis tells the metrics about each message it handled, once it committed."""

import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.metrics.commit import after_commit
from libs.metrics.definitions import (
    ANALYSIS_BATCH_SECONDS,
    ANALYSIS_BATCH_SIZE,
    ANALYSIS_LAG_SECONDS,
    ANALYSIS_STAGE_SECONDS,
)
from services.analysis.pipeline import Batch


def batch_analysed(session: AsyncSession, size: int, started: float, done: Sequence[Batch]) -> None:
    """Observe a message's size, seconds and stage seconds, and each mention's lag, at commit.

    `done` are the tries that isolation kept: their stored mentions and their stages' seconds,
    summed, are the message's.

    The lag is read on the wall clock, whatever clock the worker decides by: it measures the
    pipeline, from the mention stored by ingest to its analysis committed.
    """
    seconds = time.perf_counter() - started
    ingested = [mention.ingested_at for batch in done for mention in batch.stored]
    stages: Counter[str] = Counter()
    for batch in done:
        stages.update(batch.seconds)

    def observe() -> None:
        ANALYSIS_BATCH_SIZE.observe(size)
        ANALYSIS_BATCH_SECONDS.observe(seconds)
        for stage, spent in stages.items():
            ANALYSIS_STAGE_SECONDS.labels(stage=stage).observe(spent)
        now = datetime.now(UTC)
        for at in ingested:
            ANALYSIS_LAG_SECONDS.observe(max(0.0, (now - at).total_seconds()))

    after_commit(session, observe)
