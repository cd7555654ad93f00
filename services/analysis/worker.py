"""Entry point of the analysis service: a queue worker on ANALYSIS_QUEUE.

The harness (libs.messaging.worker) opens the unit of work, makes redelivery a no-op,
commits, then publishes what the handlers return; these handlers only call the service.
The re-scoring loop (`rescoring`) runs beside the routes, once per cluster by its lease.
"""

import asyncio
from dataclasses import dataclass, field

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock, SystemClock
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    CreateWatchlist,
    MentionIngested,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.contracts.outcome import Outcome
from libs.messaging.sweep import Sweep
from libs.messaging.worker import Route, Runtime, Worker, build_worker, run_forever, with_now
from libs.settings import Settings
from services.analysis import service
from services.analysis.analyzer import Analyzer
from services.analysis.config import AnalysisSettings, get_settings
from services.analysis.rescoring import RESCORING

CONSUMER = "analysis"


@dataclass
class AnalysisRuntime(Runtime):
    """The worker's resources: the shared ones, the loaded analyzer, the clock it decides by."""

    analyzer: Analyzer
    clock: Clock = field(default_factory=SystemClock)


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

    A burst worker (tests, one-off drains) runs no re-scoring loop; `clock` is where the
    loop reads the time (the wall clock unless a test holds one).
    """
    tuned = AnalysisSettings.extending(settings)

    async def setup(base: Runtime) -> AnalysisRuntime:
        analyzer = Analyzer()
        await asyncio.to_thread(analyzer.load)
        runtime = AnalysisRuntime(
            base.engine, base.sessions, base.redis, analyzer, clock=clock or SystemClock()
        )
        if not burst:
            runtime.loops.append(
                Sweep(
                    RESCORING,
                    runtime.sessions,
                    runtime.redis,
                    runtime.clock,
                    interval=tuned.rescore_interval_seconds,
                    producer=CONSUMER,
                )
            )
        return runtime

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
        setup=setup,
        max_jobs=tuned.analysis_max_jobs,
        burst=burst,
        handle_signals=handle_signals,
    )


def main() -> None:
    """Run the analysis worker until it is stopped."""
    run_forever(create_worker(get_settings()))


if __name__ == "__main__":
    main()
