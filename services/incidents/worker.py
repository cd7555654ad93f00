"""Entry point of the incidents worker: routes the incidents queue to the service.

The harness in `libs.messaging.worker` opens one transaction per message, records a receipt
so a redelivered message changes nothing, and commits; these routes only apply the change.
"""

import arq.worker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import INCIDENTS_QUEUE, AcknowledgeIncident, RiskSignalRaised
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from libs.settings import Settings, get_settings
from services.incidents import service

CONSUMER = "incidents"
MAX_JOBS = 4


async def handle_risk_signal(
    runtime: Runtime, session: AsyncSession, signal: RiskSignalRaised
) -> Outcome:
    """Open, join or raise the incident of the signal's watchlist."""
    await service.apply_signal(session, signal)
    return Outcome()


async def handle_acknowledge(
    runtime: Runtime, session: AsyncSession, command: AcknowledgeIncident
) -> Outcome:
    """Acknowledge an incident and answer the caller."""
    return Outcome(result=await service.acknowledge(session, command))


ROUTES: list[Route[RiskSignalRaised] | Route[AcknowledgeIncident]] = [
    Route(RiskSignalRaised, handle_risk_signal),
    Route(AcknowledgeIncident, handle_acknowledge),
]


def create_worker(
    settings: Settings, *, burst: bool = False, handle_signals: bool = True
) -> arq.worker.Worker:
    """Build the worker that consumes the incidents queue."""
    return build_worker(
        consumer=CONSUMER,
        queue=INCIDENTS_QUEUE,
        routes=ROUTES,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        max_jobs=MAX_JOBS,
        burst=burst,
        handle_signals=handle_signals,
    )


def main() -> None:
    """Run the incidents worker until it is stopped."""
    create_worker(get_settings()).run()


if __name__ == "__main__":
    main()
