"""Entry point of the analysis service: a queue worker on ANALYSIS_QUEUE.

The harness (libs.messaging.worker) opens the unit of work, makes redelivery a no-op,
commits, then publishes what the handlers return; these handlers only call the service.
The re-scoring loop (`rescoring`) runs beside the routes, once per cluster by its lease.
"""

import asyncio
from dataclasses import dataclass, field
from typing import Any, Unpack

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from libs import audit
from libs.audit import Audited, EntityKind
from libs.contracts.messages import (
    ANALYSIS_QUEUE,
    BacktestRequested,
    CreateWatchlist,
    EndDrill,
    MentionIngested,
    RequestBacktest,
    SetSensitiveTerms,
    StartDrill,
    UpdateWatchlist,
)
from libs.contracts.outcome import Outcome
from libs.database.tables import Drill, SensitiveTerm, Watchlist
from libs.messaging.worker import HowToRun, Route, Runtime, Worker, WorkerSpec, with_now
from libs.quotas import Quotas
from libs.settings import Settings
from services.analysis import backtest_runs, service
from services.analysis.analyzer import Analyzer
from services.analysis.config import AnalysisSettings
from services.analysis.rescoring import RESCORING

CONSUMER = "analysis"


@dataclass
class AnalysisRuntime(Runtime):
    """The worker's resources: the shared ones, the loaded analyzer and the quotas."""

    analyzer: Analyzer
    quotas: Quotas = field(default_factory=Quotas)


async def handle_mentions(
    runtime: AnalysisRuntime, session: AsyncSession, message: MentionIngested
) -> Outcome:
    """Analyse a batch of mentions and emit the risk signals it raised."""
    return await service.analyze_mentions(
        session, runtime.analyzer, message, now=runtime.clock.now()
    )


async def handle_create_watchlist(
    runtime: AnalysisRuntime, session: AsyncSession, command: CreateWatchlist
) -> Outcome:
    """Create a watchlist within the organization's quota of them."""
    return await service.create_watchlist(
        session, command, now=runtime.clock.now(), quota=runtime.quotas.watchlists
    )


async def handle_backtest(
    runtime: AnalysisRuntime, session: AsyncSession, message: BacktestRequested
) -> Outcome:
    """Replay a requested backtest on this worker's analyzer, reading on its own connection."""
    return await backtest_runs.run_requested(
        session, runtime.engine, runtime.analyzer, message, now=runtime.clock.now()
    )


# A replay of a month reads the month and its baseline span: minutes, not the seconds a
# live batch takes.
BACKTEST_TIMEOUT_SECONDS = 600.0

# A watchlist's configuration is its name, keywords and watch rule; its risk state is not.
_WATCHLIST_STATE = ("current_tier", "tier_changed_at", "last_spike_at", "last_spike_count")
_WATCHLIST = (*_WATCHLIST_STATE, "decision_due_at")
_LEXICON = audit.matching(SensitiveTerm, lambda _: (), order_by=(col(SensitiveTerm.term),))

ROUTES: list[Route[AnalysisRuntime, Any]] = [
    Route(MentionIngested, handle_mentions),
    Route(
        CreateWatchlist,
        handle_create_watchlist,
        audit=Audited(EntityKind.WATCHLIST, "create", audit.one_row(Watchlist, omit=_WATCHLIST)),
    ),
    Route(
        UpdateWatchlist,
        with_now(service.update_watchlist),
        audit=Audited(
            EntityKind.WATCHLIST,
            "update",
            audit.one_row(Watchlist, id_field="watchlist_id", omit=_WATCHLIST),
        ),
    ),
    Route(
        SetSensitiveTerms,
        with_now(service.set_sensitive_terms),
        audit=Audited(EntityKind.LEXICON, "set_terms", _LEXICON),
    ),
    Route(RequestBacktest, with_now(backtest_runs.request_backtest)),
    Route(
        StartDrill,
        with_now(service.start_drill),
        audit=Audited(EntityKind.DRILL, "start", audit.one_row(Drill)),
    ),
    Route(
        EndDrill,
        with_now(service.end_drill),
        audit=Audited(
            EntityKind.DRILL, "end", audit.one_row(Drill, id_field="drill_id", omit=("score_card",))
        ),
    ),
    Route(BacktestRequested, handle_backtest, timeout=BACKTEST_TIMEOUT_SECONDS),
]
WORKER = WorkerSpec(CONSUMER, ANALYSIS_QUEUE, ROUTES)


def create_worker(settings: Settings, **how: Unpack[HowToRun]) -> Worker:
    """Build the analysis worker: the routes, and the re-scoring sweep beside them."""
    tuned = AnalysisSettings.extending(settings)

    async def setup(base: Runtime) -> AnalysisRuntime:
        analyzer = Analyzer()
        await asyncio.to_thread(analyzer.load)
        runtime = base.extend(
            AnalysisRuntime, analyzer=analyzer, quotas=Quotas.from_settings(tuned)
        )
        runtime.sweep(RESCORING, every=tuned.rescore_interval_seconds, producer=CONSUMER)
        return runtime

    return WORKER.build(tuned, setup, tuned.analysis_max_jobs, **how)
