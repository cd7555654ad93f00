"""Stand-in incidents and notify workers on the real queues, answering like the services.

Each handler applies a simplified version of the service's change, so the gateway's read
back sees real rows; `refuse` scripts the next answers to a command as a refusal instead,
to pin how the gateway maps each kind of `CommandResult` failure.
"""

import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests.response_rows import SEALED
from libs.contracts.enums import (
    FollowUpKind,
    IncidentStatus,
    ReviewDecision,
    StatementStatus,
    TaskStatus,
)
from libs.contracts.messages import EVENTS_QUEUE, INCIDENTS_QUEUE, Command, CommandResult
from libs.contracts.notify import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookPolicy,
    UpdateWebhookEndpoint,
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
from libs.database.tables import (
    AffectedUser,
    FollowUpTask,
    ImprovementAction,
    Incident,
    IncidentMember,
    KeyFact,
    Playbook,
    ReplyCase,
    ResponseTask,
    ReviewReport,
    Statement,
    StatementReview,
    WatchlistSnooze,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPolicy,
)
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from libs.privacy import mask_contact, mask_name
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers

C = TypeVar("C", bound=Command)
Apply = Callable[[AsyncSession, Any], Awaitable[CommandResult]]


def now() -> datetime:
    """The stand-ins' clock; tests compare what they stored, never the time itself."""
    return datetime.now(UTC)


class StandIns:
    """What the stand-ins received, and the refusals they are scripted to answer."""

    def __init__(self) -> None:
        self.received: list[Command] = []
        self._refusals: dict[type[Command], CommandResult] = {}

    def refuse(self, command: type[Command], result: CommandResult) -> None:
        """Answer every `command` with `result` (a failure) from now on."""
        self._refusals[command] = result

    def route(self, command: type[C], apply: Apply) -> Route[Runtime, C]:
        """Route `command` to `apply` unless a refusal is scripted for it."""

        async def handle(runtime: Runtime, session: AsyncSession, message: C) -> Outcome:
            self.received.append(message)
            scripted = self._refusals.get(command)
            if scripted is not None:
                return Outcome(result=scripted)
            return Outcome(result=await apply(session, message))

        return Route(command, handle)


async def _incident(session: AsyncSession, incident_id: uuid.UUID) -> Incident:
    row = await session.get(Incident, incident_id)
    assert row is not None
    return row


async def transition(session: AsyncSession, command: TransitionIncident) -> CommandResult:
    row = await _incident(session, command.incident_id)
    row.status = command.to_status.value
    row.status_reason = command.reason
    if command.to_status is IncidentStatus.RESOLVED:
        row.resolved_at = now()
    if command.to_status is IncidentStatus.MERGED:
        row.merged_into_id = command.merge_into_id
    return CommandResult.success(id=str(row.id), status=row.status)


async def change_tier(session: AsyncSession, command: ChangeIncidentTier) -> CommandResult:
    row = await _incident(session, command.incident_id)
    row.tier = command.tier.value
    return CommandResult.success(id=str(row.id), tier=row.tier)


async def assign_role(session: AsyncSession, command: AssignRole) -> CommandResult:
    session.add(
        IncidentMember(
            organization_id=command.organization_id,
            incident_id=command.incident_id,
            role=command.role.value,
            person=command.person,
            assigned_by=command.actor,
        )
    )
    return CommandResult.success(id=str(command.incident_id))


async def snooze(session: AsyncSession, command: SnoozeWatchlist) -> CommandResult:
    row = WatchlistSnooze(
        organization_id=command.organization_id,
        watchlist_id=command.watchlist_id,
        until=command.until,
        reason=command.reason,
        actor=command.actor,
    )
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id))


async def complete_task(session: AsyncSession, command: CompleteTask) -> CommandResult:
    row = await session.get(ResponseTask, command.task_id)
    assert row is not None
    row.status, row.completed_at, row.completed_by = TaskStatus.DONE.value, now(), command.actor
    return CommandResult.success(id=str(row.id))


async def draft(session: AsyncSession, command: DraftStatement) -> CommandResult:
    row = Statement(
        organization_id=command.organization_id,
        incident_id=command.incident_id,
        channel=command.channel.value,
        body=command.body,
        created_by=command.actor,
    )
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id))


async def revise(session: AsyncSession, command: ReviseStatement) -> CommandResult:
    row = await session.get(Statement, command.statement_id)
    assert row is not None
    row.body, row.status, row.review_level = command.body, StatementStatus.DRAFT.value, 0
    return CommandResult.success(id=str(row.id))


async def review_statement(session: AsyncSession, command: ReviewStatement) -> CommandResult:
    row = await session.get(Statement, command.statement_id)
    assert row is not None
    session.add(
        StatementReview(
            organization_id=row.organization_id,
            statement_id=row.id,
            stage=command.stage.value,
            decision=command.decision.value,
            reviewer=command.actor,
            note=command.note,
        )
    )
    if command.decision is ReviewDecision.REJECT:
        row.status = StatementStatus.REJECTED.value
    else:
        row.review_level += 1
        done = row.review_level >= 3
        row.status = (StatementStatus.APPROVED if done else StatementStatus.IN_REVIEW).value
    return CommandResult.success(id=str(row.id))


async def publish(session: AsyncSession, command: PublishStatement) -> CommandResult:
    row = await session.get(Statement, command.statement_id)
    assert row is not None
    row.status = StatementStatus.PUBLISHED.value
    row.published_url, row.published_at = command.url, command.published_at
    return CommandResult.success(id=str(row.id))


async def set_key_facts(session: AsyncSession, command: SetKeyFacts) -> CommandResult:
    await session.exec(delete(KeyFact).where(col(KeyFact.incident_id) == command.incident_id))
    for fact in command.facts:
        session.add(
            KeyFact(
                organization_id=command.organization_id,
                incident_id=command.incident_id,
                label=fact.label,
                value=fact.value,
            )
        )
    return CommandResult.success(id=str(command.incident_id))


async def _review(session: AsyncSession, incident_id: uuid.UUID) -> ReviewReport:
    found = await session.exec(
        select(ReviewReport).where(col(ReviewReport.incident_id) == incident_id)
    )
    row = found.one_or_none()
    if row is None:
        incident = await _incident(session, incident_id)
        row = ReviewReport(
            organization_id=incident.organization_id, incident_id=incident_id, sections={}
        )
        session.add(row)
        await session.flush()
    return row


async def update_review(session: AsyncSession, command: UpdateReview) -> CommandResult:
    row = await _review(session, command.incident_id)
    if command.root_cause is not None:
        row.root_cause = command.root_cause
    if command.improvements is not None:
        incident = await _incident(session, command.incident_id)
        await session.exec(
            delete(ImprovementAction).where(
                col(ImprovementAction.incident_id) == command.incident_id
            )
        )
        for entry in command.improvements:
            session.add(
                ImprovementAction(
                    organization_id=command.organization_id,
                    incident_id=incident.id,
                    watchlist_id=incident.watchlist_id,
                    action=entry.action,
                    owner=entry.owner,
                    due_at=entry.due_at,
                )
            )
    return CommandResult.success(id=str(row.id))


async def complete_review(session: AsyncSession, command: CompleteReview) -> CommandResult:
    row = await _review(session, command.incident_id)
    row.status, row.completed_at, row.completed_by = "completed", now(), command.actor
    return CommandResult.success(id=str(row.id))


async def set_playbook(session: AsyncSession, command: SetPlaybook) -> CommandResult:
    row = Playbook(
        organization_id=command.organization_id,
        tier=command.tier.value,
        crisis_type=command.crisis_type.value if command.crisis_type else "*",
        team=[slot.model_dump(mode="json") for slot in command.team],
        tasks=[task.model_dump(mode="json") for task in command.tasks],
    )
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id))


async def add_affected_user(session: AsyncSession, command: AddAffectedUser) -> CommandResult:
    user = AffectedUser(
        organization_id=command.organization_id,
        incident_id=command.incident_id,
        name_masked=mask_name(command.name),
        contact_kind=command.contact_kind.value,
        contact_masked=mask_contact(command.contact_kind, command.contact),
        contact_cipher=SEALED,
        created_by=command.actor,
    )
    session.add(user)
    await session.flush()
    session.add(
        FollowUpTask(
            organization_id=command.organization_id,
            affected_user_id=user.id,
            incident_id=command.incident_id,
            kind=FollowUpKind.FOLLOW_UP.value,
            due_at=command.follow_up_due_at,
        )
    )
    return CommandResult.success(id=str(user.id), name=user.name_masked)


async def complete_follow_up(session: AsyncSession, command: CompleteFollowUp) -> CommandResult:
    row = await session.get(FollowUpTask, command.task_id)
    assert row is not None
    row.status, row.note, row.completed_at = TaskStatus.DONE.value, command.note, now()
    return CommandResult.success(id=str(row.id))


async def file_reply(session: AsyncSession, command: FileReply) -> CommandResult:
    row = ReplyCase(
        organization_id=command.organization_id,
        incident_id=command.incident_id,
        mention_id=command.mention_id,
        category=command.category,
        text=command.text or "",
        reply=command.reply,
        created_by=command.actor,
    )
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id))


def new_secret() -> str:
    """A secret in the Standard Webhooks form."""
    return "whsec_" + secrets.token_urlsafe(24)


async def create_endpoint(session: AsyncSession, command: CreateWebhookEndpoint) -> CommandResult:
    row = WebhookEndpoint(
        organization_id=command.organization_id,
        name=command.name,
        kind=command.kind.value,
        url=command.url,
        event_types=[e.value for e in command.event_types],
        secret_cipher=SEALED,
    )
    session.add(row)
    await session.flush()
    # Shaped like the notify service's answer: the endpoint described, and the secret once.
    return CommandResult.success(
        endpoint={"id": str(row.id), "name": row.name}, secret=new_secret()
    )


async def update_endpoint(session: AsyncSession, command: UpdateWebhookEndpoint) -> CommandResult:
    row = await session.get(WebhookEndpoint, command.endpoint_id)
    assert row is not None
    row.name = command.name or row.name
    row.url = command.url or row.url
    if command.event_types is not None:
        row.event_types = [e.value for e in command.event_types]
    if command.enabled:
        row.status, row.disabled_reason = "active", None
    return CommandResult.success(endpoint={"id": str(row.id)})


async def rotate_secret(session: AsyncSession, command: RotateWebhookSecret) -> CommandResult:
    row = await session.get(WebhookEndpoint, command.endpoint_id)
    assert row is not None
    row.previous_secret_cipher = row.secret_cipher
    row.previous_secret_expires_at = now() + timedelta(hours=command.overlap_hours)
    return CommandResult.success(endpoint={"id": str(row.id)}, secret=new_secret())


async def delete_endpoint(session: AsyncSession, command: DeleteWebhookEndpoint) -> CommandResult:
    await session.exec(
        delete(WebhookEndpoint).where(col(WebhookEndpoint.id) == command.endpoint_id)
    )
    return CommandResult.success(endpoint_id=str(command.endpoint_id))


async def redeliver(session: AsyncSession, command: RedeliverWebhook) -> CommandResult:
    row = await session.get(WebhookDelivery, command.delivery_id)
    assert row is not None
    row.status, row.next_attempt_at = "pending", now()
    return CommandResult.success(delivery={"id": str(row.id), "status": row.status})


async def set_policy(session: AsyncSession, command: SetWebhookPolicy) -> CommandResult:
    row = await session.get(WebhookPolicy, command.organization_id)
    if row is None:
        row = WebhookPolicy(organization_id=command.organization_id)
    row.allow_private_destinations = command.allow_private_destinations
    session.add(row)
    return CommandResult.success(
        policy={"allow_private_destinations": command.allow_private_destinations}
    )


INCIDENT_HANDLERS: list[tuple[type[Command], Apply]] = [
    (TransitionIncident, transition),
    (ChangeIncidentTier, change_tier),
    (AssignRole, assign_role),
    (SnoozeWatchlist, snooze),
    (CompleteTask, complete_task),
    (DraftStatement, draft),
    (ReviseStatement, revise),
    (ReviewStatement, review_statement),
    (PublishStatement, publish),
    (SetKeyFacts, set_key_facts),
    (UpdateReview, update_review),
    (CompleteReview, complete_review),
    (SetPlaybook, set_playbook),
    (AddAffectedUser, add_affected_user),
    (CompleteFollowUp, complete_follow_up),
    (FileReply, file_reply),
]
NOTIFY_HANDLERS: list[tuple[type[Command], Apply]] = [
    (CreateWebhookEndpoint, create_endpoint),
    (UpdateWebhookEndpoint, update_endpoint),
    (RotateWebhookSecret, rotate_secret),
    (DeleteWebhookEndpoint, delete_endpoint),
    (RedeliverWebhook, redeliver),
    (SetWebhookPolicy, set_policy),
]


@asynccontextmanager
async def stand_ins(servers: Servers) -> AsyncIterator[StandIns]:
    """Run the stand-in incidents and notify workers until the block ends."""
    fake = StandIns()
    workers = [
        build_worker(
            consumer=f"test-{name}",
            queue=queue,
            routes=[fake.route(command, apply) for command, apply in handlers],
            database_url=servers.database_url,
            redis_url=servers.redis_url,
            handle_signals=False,
        )
        for name, queue, handlers in (
            ("incidents", INCIDENTS_QUEUE, INCIDENT_HANDLERS),
            ("notify", EVENTS_QUEUE, NOTIFY_HANDLERS),
        )
    ]
    async with running_workers(*workers):
        yield fake
