"""Entry point of the analysis service: a queue worker on ANALYSIS_QUEUE.

The harness (libs.messaging.worker) opens the unit of work, makes redelivery a no-op,
commits, then publishes what the handlers return; these handlers only call the service.
"""

import asyncio
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    CreateWatchlist,
    MentionIngested,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.contracts.outcome import Outcome
from libs.messaging.worker import Route, Runtime, Worker, build_worker, with_now
from libs.settings import Settings
from services.analysis import service
from services.analysis.analyzer import Analyzer
from services.analysis.config import AnalysisSettings

CONSUMER = "analysis"


@dataclass
class AnalysisRuntime(Runtime):
    """The worker's resources: the shared ones and the loaded analyzer."""

    analyzer: Analyzer


async def _load_analyzer(runtime: Runtime) -> AnalysisRuntime:
    analyzer = Analyzer()
    await asyncio.to_thread(analyzer.load)
    return runtime.extend(AnalysisRuntime, analyzer=analyzer)


async def handle_mentions(
    runtime: AnalysisRuntime, session: AsyncSession, message: MentionIngested
) -> Outcome:
    """Analyse a batch of mentions and emit the risk signals it raised."""
    return await service.analyze_mentions(
        session, runtime.analyzer, message, now=runtime.clock.now()
    )


def create_worker(
    settings: Settings,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    clock: Clock | None = None,
) -> Worker:
    """Build the analysis worker; `burst` stops it once the queue is empty.

    `clock` replaces the wall clock, for replays and tests that run at a stream's time.
    """
    tuned = AnalysisSettings.extending(settings)
    return build_worker(
        consumer=CONSUMER,
        queue=ANALYSIS_QUEUE,
        routes=[
            Route(MentionIngested, handle_mentions),
            Route(CreateWatchlist, with_now(service.create_watchlist)),
            Route(UpdateWatchlist, with_now(service.update_watchlist)),
            Route(SetSensitiveTerms, with_now(service.set_sensitive_terms)),
        ],
        database_url=tuned.database_url,
        redis_url=tuned.redis_url,
        setup=_load_analyzer,
        max_jobs=tuned.analysis_max_jobs,
        burst=burst,
        handle_signals=handle_signals,
        clock=clock,
    )
