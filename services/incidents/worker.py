"""Entry point of the incidents worker: routes the incidents queue to the service modules.

The harness in `libs.messaging.worker` opens one transaction per message, records a receipt
so a redelivered message changes nothing, commits, and only then publishes the events a
handler returns. The deadline watchdog runs beside the routes in the same process.
"""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import arq.worker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import (
    INCIDENTS_QUEUE,
    AcknowledgeIncident,
    CommandResult,
    RiskSignalRaised,
)
from libs.contracts.response import (
    AddAffectedUser,
    AssignRole,
    ChangeIncidentTier,
    CompleteFollowUp,
    CompleteReview,
    CompleteTask,
    DraftStatement,
    FileReply,
    PublishStatement,
    ReviewStatement,
    ReviseStatement,
    SetKeyFacts,
    SetPlaybook,
    SnoozeWatchlist,
    TransitionIncident,
    UpdateReview,
)
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from libs.privacy import DataKey, install_masking
from libs.settings import Settings, get_settings
from services.incidents import (
    affected,
    replies,
    statements,
    team,
)
from services.incidents.clock import SystemClock
from services.incidents.lifecycle import service as lifecycle
from services.incidents.playbook import service as playbook_service
from services.incidents.review import report
from services.incidents.signals import service as signals
from services.incidents.signals import snooze
from services.incidents.tasks import service as tasks
from services.incidents.tasks.watchdog import DeadlineWatchdog

CONSUMER = "incidents"
MAX_JOBS = 4


@dataclass
class IncidentsRuntime(Runtime):
    """The worker's resources: the data key for contacts, and the deadline watchdog."""

    data_key: DataKey | None = None
    watchdog: DeadlineWatchdog | None = None


def now() -> datetime:
    """The wall clock, read once per message; every service function takes it explicitly."""
    return datetime.now(UTC)


async def handle_risk_signal(
    runtime: IncidentsRuntime, session: AsyncSession, signal: RiskSignalRaised
) -> Outcome:
    """Open, join, reopen or raise the incident of the signal's watchlist or story."""
    return await signals.apply_signal(session, signal, clock=SystemClock())


def answer(
    apply: Callable[..., Awaitable[Any]],
) -> Callable[[IncidentsRuntime, AsyncSession, Any], Awaitable[Outcome]]:
    """Adapt a service function answering (result, events) to a route handler."""

    async def handle(runtime: IncidentsRuntime, session: AsyncSession, command: Any) -> Outcome:
        answered = await apply(session, command, now=now())
        if isinstance(answered, Outcome):
            return answered
        result, messages = answered
        return Outcome(result=result, messages=messages)

    return handle


async def handle_add_affected_user(
    runtime: IncidentsRuntime, session: AsyncSession, command: AddAffectedUser
) -> Outcome:
    """Record a harmed customer; the contact is encrypted with the process's data key."""
    key = runtime.data_key
    if key is None:
        # Without a key nothing personal may be stored; everything else still works.
        return Outcome(
            result=CommandResult.failure(
                "Invalid",
                "contact data cannot be stored: CRISISWATCH_DATA_KEY is not set",
                field="contact",
            )
        )
    return await affected.add_affected_user(session, command, key, now=now())


async def handle_complete_follow_up(
    runtime: IncidentsRuntime, session: AsyncSession, command: CompleteFollowUp
) -> Outcome:
    """Mark a follow-up or compensation done."""
    return await affected.complete_follow_up(session, command, now=now())


async def handle_update_review(
    runtime: IncidentsRuntime, session: AsyncSession, command: UpdateReview
) -> Outcome:
    """Write a review's root cause and improvement actions."""
    return await report.update_review(session, command, now=now())


async def handle_complete_review(
    runtime: IncidentsRuntime, session: AsyncSession, command: CompleteReview
) -> Outcome:
    """Complete a review, refused while a required section is empty."""
    return await report.complete_review(session, command, now=now())


async def handle_transition(
    runtime: IncidentsRuntime, session: AsyncSession, command: TransitionIncident
) -> Outcome:
    """Move an incident; resolving it drafts its review report in the same transaction."""
    outcome = await lifecycle.transition(session, command, now=now())
    if outcome.result is not None and outcome.result.ok and command.to_status.value == "resolved":
        await report.draft_review(session, command.incident_id, now=now())
    return outcome


ROUTES: list[Route[IncidentsRuntime, Any]] = [
    Route(RiskSignalRaised, handle_risk_signal),
    Route(AcknowledgeIncident, answer(lifecycle.acknowledge)),
    Route(TransitionIncident, handle_transition),
    Route(ChangeIncidentTier, answer(lifecycle.change_tier)),
    Route(AssignRole, answer(team.assign_role)),
    Route(SnoozeWatchlist, answer(snooze.snooze_watchlist)),
    Route(SetPlaybook, answer(playbook_service.set_playbook)),
    Route(CompleteTask, answer(tasks.complete)),
    Route(DraftStatement, answer(statements.draft_statement)),
    Route(ReviseStatement, answer(statements.revise_statement)),
    Route(ReviewStatement, answer(statements.review_statement)),
    Route(PublishStatement, answer(statements.publish_statement)),
    Route(SetKeyFacts, answer(statements.set_key_facts)),
    Route(FileReply, answer(replies.file_reply)),
    Route(AddAffectedUser, handle_add_affected_user),
    Route(CompleteFollowUp, handle_complete_follow_up),
    Route(UpdateReview, handle_update_review),
    Route(CompleteReview, handle_complete_review),
]


def create_worker(
    settings: Settings, *, burst: bool = False, handle_signals: bool = True
) -> arq.worker.Worker:
    """Build the worker that consumes the incidents queue and watches deadlines."""

    async def startup(base: Runtime) -> IncidentsRuntime:
        runtime = IncidentsRuntime(base.engine, base.sessions, base.redis)
        if settings.data_key:
            runtime.data_key = DataKey.from_settings(settings)
        if not burst:
            runtime.watchdog = DeadlineWatchdog(
                runtime.sessions,
                runtime.redis,
                SystemClock(),
                settings.deadline_check_seconds,
                producer=CONSUMER,
            )
            runtime.watchdog.start()
        return runtime

    async def shutdown(runtime: IncidentsRuntime) -> None:
        if runtime.watchdog is not None:
            await runtime.watchdog.stop()

    return build_worker(
        consumer=CONSUMER,
        queue=INCIDENTS_QUEUE,
        routes=ROUTES,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        setup=startup,
        on_shutdown=shutdown,
        max_jobs=MAX_JOBS,
        burst=burst,
        handle_signals=handle_signals,
    )


def main() -> None:
    """Run the incidents worker until it is stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_masking()
    create_worker(get_settings()).run()


if __name__ == "__main__":
    main()
