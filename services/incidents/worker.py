"""Entry point of the incidents worker: the incidents queue routed to the service façade.

The harness in `libs.messaging.worker` opens one unit of work per message, records a
receipt so a redelivered message changes nothing, commits, and only then publishes the
events a handler returns. The deadline watchdog, the snooze-end, quiet-period and
deadline-risk (forecast) passes and the daily risk check's scheduler (each once per cluster,
by its lease) run beside the routes.
"""

from dataclasses import dataclass
from typing import Any, Unpack
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlmodel import col

from libs import audit
from libs.audit import Audited, EntityKind
from libs.contracts import response
from libs.contracts.messages import (
    INCIDENTS_QUEUE,
    AcknowledgeIncident,
    Command,
    RiskSignalRaised,
    RiskTierFell,
)
from libs.database.tables import (
    FollowUpTask,
    OwnAccount,
    Partner,
    Playbook,
    Rota,
    RotaOverride,
    StatementTemplate,
)
from libs.messaging.worker import HowToRun, Route, Runtime, Worker, WorkerSpec
from libs.privacy import DataKey
from libs.settings import Settings
from services.incidents import service
from services.incidents.aftercare.deadlines import FOLLOW_UP_DEADLINES
from services.incidents.config import IncidentsSettings
from services.incidents.forecasts.service import DEADLINE_RISKS
from services.incidents.playbook.service import ANY_CRISIS_TYPE
from services.incidents.quiet.service import QUIET_PERIODS
from services.incidents.review.improvements import IMPROVEMENT_DEADLINES
from services.incidents.risk_check.scheduler import risk_check_sweep
from services.incidents.risk_check.service import Schedule
from services.incidents.signals.service import SNOOZE_ENDS
from services.incidents.sitreps.service import SITUATION_REPORTS
from services.incidents.tasks.watchdog import DeadlineWatchdog

CONSUMER = "incidents"


@dataclass
class IncidentsRuntime(Runtime):
    """The worker's resources: the data key for contacts (the loops run beside the routes)."""

    data_key: DataKey | None = None


def _playbook(command: Command) -> tuple[ColumnElement[bool], ...]:
    """Select the playbook a `SetPlaybook` replaces: its tier's, for its crisis type or any."""
    assert isinstance(command, response.SetPlaybook)
    crisis_type = command.crisis_type.value if command.crisis_type else ANY_CRISIS_TYPE
    return (col(Playbook.tier) == command.tier.value, col(Playbook.crisis_type) == crisis_type)


def _rota(command: Command) -> tuple[ColumnElement[bool], ...]:
    """Select the rota a `SetRota` sets: its role's."""
    assert isinstance(command, response.SetRota)
    return (col(Rota.role) == command.role.value,)


ROUTES: list[Route[IncidentsRuntime, Any]] = [
    Route(RiskSignalRaised, service.apply_signal),
    Route(RiskTierFell, service.apply_fall),
    Route(AcknowledgeIncident, service.acknowledge),
    Route(response.TransitionIncident, service.transition),
    Route(response.ChangeIncidentTier, service.change_tier),
    Route(response.AssignRole, service.assign_role),
    Route(response.SnoozeWatchlist, service.snooze_watchlist),
    Route(
        response.SetPlaybook,
        service.set_playbook,
        audit=Audited(EntityKind.PLAYBOOK, "set", audit.matching(Playbook, _playbook, keyed=True)),
    ),
    Route(
        response.AddOwnAccount,
        service.add_own_account,
        audit=Audited(EntityKind.OWN_ACCOUNT, "create", audit.one_row(OwnAccount)),
    ),
    Route(
        response.UpdateOwnAccount,
        service.update_own_account,
        audit=Audited(
            EntityKind.OWN_ACCOUNT, "update", audit.one_row(OwnAccount, id_field="account_id")
        ),
    ),
    Route(
        response.AddPartner,
        service.add_partner,
        audit=Audited(EntityKind.PARTNER, "create", audit.one_row(Partner)),
    ),
    Route(
        response.UpdatePartner,
        service.update_partner,
        audit=Audited(EntityKind.PARTNER, "update", audit.one_row(Partner, id_field="partner_id")),
    ),
    Route(response.SetPartnerStatus, service.set_partner_status),
    Route(response.CreateEvidenceBundle, service.create_evidence_bundle),
    Route(response.AddEvidence, service.add_evidence),
    Route(response.SuggestStatement, service.suggest_statement),
    Route(
        response.SetStatementTemplate,
        service.set_statement_template,
        audit=Audited(EntityKind.STATEMENT_TEMPLATE, "create", audit.one_row(StatementTemplate)),
    ),
    Route(response.SendSituationReport, service.send_situation_report),
    Route(response.UpdateImprovementAction, service.update_improvement_action),
    Route(response.CompleteTask, service.complete_task),
    Route(
        response.SetRota,
        service.set_rota,
        audit=Audited(EntityKind.ROTA, "set", audit.matching(Rota, _rota, keyed=True)),
    ),
    Route(
        response.SetRotaOverride,
        service.set_rota_override,
        audit=Audited(EntityKind.ROTA, "override", audit.one_row(RotaOverride)),
    ),
    Route(response.AcknowledgePage, service.acknowledge_page),
    Route(response.DraftStatement, service.draft_statement),
    Route(response.ReviseStatement, service.revise_statement),
    Route(response.ReviewStatement, service.review_statement),
    Route(response.RequestLegalReview, service.request_legal_review),
    Route(response.PublishStatement, service.publish_statement),
    Route(response.SetKeyFacts, service.set_key_facts),
    Route(response.FileReply, service.file_reply),
    Route(response.AddAffectedUser, service.add_affected_user),
    Route(response.CompleteFollowUp, service.complete_follow_up),
    Route(
        response.UpdateFollowUp,
        service.update_follow_up,
        # A new owner may read the user's contact: who handed it over is kept.
        audit=Audited(
            EntityKind.FOLLOW_UP, "update", audit.one_row(FollowUpTask, id_field="task_id")
        ),
    ),
    Route(response.RevealContact, service.reveal_contact),
    Route(response.UpdateReview, service.update_review),
    Route(response.CompleteReview, service.complete_review),
]
WORKER = WorkerSpec(CONSUMER, INCIDENTS_QUEUE, ROUTES)


def create_worker(settings: Settings, **how: Unpack[HowToRun]) -> Worker:
    """Build the worker that consumes the incidents queue, watches deadlines and snoozes,
    and runs the daily risk check.

    `RISK_CHECK_ENABLED=false` and `SITUATION_REPORTS_ENABLED=false` turn the daily risk
    check and the situation reports off (the test suite does, so that no test's rows change
    with the hour it runs at; their own tests turn them on or run the pass by hand).
    """
    own = IncidentsSettings.extending(settings)

    async def startup(base: Runtime) -> IncidentsRuntime:
        runtime = base.extend(IncidentsRuntime)
        if own.data_key:
            runtime.data_key = DataKey.from_settings(own)
        runtime.loops.append(
            DeadlineWatchdog(
                runtime.sessions,
                runtime.redis,
                runtime.clock,
                own.deadline_check_seconds,
                producer=CONSUMER,
            )
        )
        runtime.sweep(SNOOZE_ENDS, every=own.snooze_check_seconds, producer=CONSUMER)
        runtime.sweep(QUIET_PERIODS, every=own.quiet_period_check_seconds, producer=CONSUMER)
        runtime.sweep(IMPROVEMENT_DEADLINES, every=own.deadline_check_seconds, producer=CONSUMER)
        runtime.sweep(FOLLOW_UP_DEADLINES, every=own.deadline_check_seconds, producer=CONSUMER)
        runtime.sweep(DEADLINE_RISKS, every=own.forecast_check_seconds, producer=CONSUMER)
        if own.situation_reports_enabled:
            runtime.sweep(
                SITUATION_REPORTS, every=own.situation_report_check_seconds, producer=CONSUMER
            )
        if own.risk_check_enabled:
            schedule = Schedule(own.risk_check_hour, ZoneInfo(own.risk_check_time_zone))
            runtime.sweep(
                risk_check_sweep(schedule), every=own.risk_check_poll_seconds, producer=CONSUMER
            )
        return runtime

    return WORKER.build(own, startup, own.incidents_max_jobs, **how)
