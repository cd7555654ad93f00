"""Entry point of the incidents worker: the incidents queue routed to the service façade.

The harness in `libs.messaging.worker` opens one unit of work per message, records a
receipt so a redelivered message changes nothing, commits, and only then publishes the
events a handler returns. The deadline watchdog and the snooze-end pass (once per cluster,
by its lease) run beside the routes in the same process.
"""

from dataclasses import dataclass, field
from typing import Any

from libs.clock import Clock, SystemClock
from libs.contracts import response
from libs.contracts.messages import (
    INCIDENTS_QUEUE,
    AcknowledgeIncident,
    RiskSignalRaised,
    RiskTierFell,
)
from libs.messaging.sweep import Sweep
from libs.messaging.worker import Route, Runtime, Worker, build_worker, run_forever
from libs.privacy import DataKey
from libs.settings import Settings
from services.incidents import service
from services.incidents.config import IncidentsSettings, get_settings
from services.incidents.signals.service import SNOOZE_ENDS
from services.incidents.tasks.watchdog import DeadlineWatchdog

CONSUMER = "incidents"


@dataclass
class IncidentsRuntime(Runtime):
    """The worker's resources: its clock, the data key for contacts, the deadline watchdog."""

    clock: Clock = field(default_factory=SystemClock)
    data_key: DataKey | None = None


ROUTES: list[Route[IncidentsRuntime, Any]] = [
    Route(RiskSignalRaised, service.apply_signal),
    Route(RiskTierFell, service.apply_fall),
    Route(AcknowledgeIncident, service.acknowledge),
    Route(response.TransitionIncident, service.transition),
    Route(response.ChangeIncidentTier, service.change_tier),
    Route(response.AssignRole, service.assign_role),
    Route(response.SnoozeWatchlist, service.snooze_watchlist),
    Route(response.SetPlaybook, service.set_playbook),
    Route(response.CompleteTask, service.complete_task),
    Route(response.DraftStatement, service.draft_statement),
    Route(response.ReviseStatement, service.revise_statement),
    Route(response.ReviewStatement, service.review_statement),
    Route(response.PublishStatement, service.publish_statement),
    Route(response.SetKeyFacts, service.set_key_facts),
    Route(response.FileReply, service.file_reply),
    Route(response.AddAffectedUser, service.add_affected_user),
    Route(response.CompleteFollowUp, service.complete_follow_up),
    Route(response.UpdateReview, service.update_review),
    Route(response.CompleteReview, service.complete_review),
]


def create_worker(
    settings: Settings,
    *,
    burst: bool = False,
    handle_signals: bool = True,
    clock: Clock | None = None,
) -> Worker:
    """Build the worker that consumes the incidents queue, watches deadlines and snoozes.

    A burst worker (tests, one-off drains) runs neither loop; `clock` is where the worker
    reads the time (the wall clock unless a test holds one).
    """
    own = IncidentsSettings.extending(settings)

    async def startup(base: Runtime) -> IncidentsRuntime:
        runtime = IncidentsRuntime(
            base.engine, base.sessions, base.redis, clock=clock or SystemClock()
        )
        if own.data_key:
            runtime.data_key = DataKey.from_settings(own)
        if not burst:
            runtime.loops.append(
                DeadlineWatchdog(
                    runtime.sessions,
                    runtime.redis,
                    runtime.clock,
                    own.deadline_check_seconds,
                    producer=CONSUMER,
                )
            )
            runtime.loops.append(
                Sweep(
                    SNOOZE_ENDS,
                    runtime.sessions,
                    runtime.redis,
                    runtime.clock,
                    interval=own.snooze_check_seconds,
                    producer=CONSUMER,
                )
            )
        return runtime

    return build_worker(
        consumer=CONSUMER,
        queue=INCIDENTS_QUEUE,
        routes=ROUTES,
        database_url=own.database_url,
        redis_url=own.redis_url,
        setup=startup,
        max_jobs=own.incidents_max_jobs,
        burst=burst,
        handle_signals=handle_signals,
    )


def main() -> None:
    """Run the incidents worker until it is stopped."""
    run_forever(create_worker(get_settings()))


if __name__ == "__main__":
    main()
