"""Commands that run an incident's response, and the events integrators receive.

Each command goes to the incidents queue and is answered with a `CommandResult`; the
field names here are the ones a refusal names. Text limits match the columns that store
them, so a command that validates can always be stored.
"""

import uuid
from datetime import date, time
from typing import Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetPydanticSchema,
    PlainSerializer,
)

from libs.contracts.enums import (
    Channel,
    ContactKind,
    CrisisType,
    DrillDelivery,
    EventType,
    EvidencePurpose,
    ForecastTrend,
    ImprovementStatus,
    IncidentStatus,
    PartnerKind,
    PartnerStatus,
    ReviewDecision,
    ReviewStage,
    Source,
    StatementStage,
    TeamRole,
    Tier,
)
from libs.contracts.messages import EVENTS_QUEUE, INCIDENTS_QUEUE, SEALED, Command, Message
from libs.contracts.urls import WebLink

Reason = Field(default=None, max_length=2000)


class _IncidentCommand(Command):
    QUEUE: ClassVar[str] = INCIDENTS_QUEUE
    VERSION: ClassVar[int] = 1


class TransitionIncident(_IncidentCommand):
    """Move an incident to another status; a forbidden move is refused naming the current one."""

    NAME: ClassVar[str] = "incident.transition"

    incident_id: uuid.UUID
    to_status: IncidentStatus
    reason: str | None = Reason
    merge_into_id: uuid.UUID | None = Field(
        default=None, description="The incident this one joins, for `merged`."
    )


class ChangeIncidentTier(_IncidentCommand):
    """Raise or lower an incident's tier by hand; raising adds the higher playbook's tasks."""

    NAME: ClassVar[str] = "incident.change_tier"

    incident_id: uuid.UUID
    tier: Tier
    reason: str = Field(min_length=1, max_length=2000)


class AssignRole(_IncidentCommand):
    """Put a person in a role on the incident's team."""

    NAME: ClassVar[str] = "incident.assign_role"

    incident_id: uuid.UUID
    role: TeamRole
    person: str = Field(min_length=1, max_length=200)


class SnoozeWatchlist(_IncidentCommand):
    """Silence a watchlist until a time: its signals open no incident meanwhile."""

    NAME: ClassVar[str] = "watchlist.snooze"

    watchlist_id: uuid.UUID
    until: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)


class AddOwnAccount(_IncidentCommand):
    """Register one of the organization's own accounts, which quiet periods pause."""

    NAME: ClassVar[str] = "own_account.add"

    platform: Source
    handle: str = Field(min_length=1, max_length=100)
    owner: str | None = Field(default=None, max_length=200)


class UpdateOwnAccount(_IncidentCommand):
    """Change who runs an own account, or take it out of (or back into) quiet periods."""

    NAME: ClassVar[str] = "own_account.update"

    account_id: uuid.UUID
    owner: str | None = Field(default=None, max_length=200)
    active: bool | None = None


class AddPartner(_IncidentCommand):
    """Register a third party the organization works with (第三方合作方管理)."""

    NAME: ClassVar[str] = "partner.add"

    name: str = Field(min_length=1, max_length=200)
    kind: PartnerKind
    contact: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=2000)


class UpdatePartner(_IncidentCommand):
    """Change a partner's contact or note, or retire it; an omitted field stays."""

    NAME: ClassVar[str] = "partner.update"

    partner_id: uuid.UUID
    contact: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=2000)
    active: bool | None = None


class SetPartnerStatus(_IncidentCommand):
    """Record where a partner stands in an incident: to be told, told, aligned on the statement."""

    NAME: ClassVar[str] = "incident.set_partner_status"

    incident_id: uuid.UUID
    partner_id: uuid.UUID
    status: PartnerStatus
    note: str | None = Reason


class EvidenceItemInput(BaseModel):
    """A mention to keep as evidence, with the hash of a screenshot of it when one was taken."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mention_id: uuid.UUID
    screenshot_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="Lowercase hex SHA-256."
    )
    note: str | None = Field(default=None, max_length=1000)


class CreateEvidenceBundle(_IncidentCommand):
    """Gather mentions and the facts that rebut them into a bundle for a platform or counsel."""

    NAME: ClassVar[str] = "evidence.create"

    incident_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    purpose: EvidencePurpose
    debunk_facts: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list, max_length=50
    )
    items: list[EvidenceItemInput] = Field(default_factory=list, max_length=500)


class AddEvidence(_IncidentCommand):
    """Add mentions to an evidence bundle; one already in it is left as it was."""

    NAME: ClassVar[str] = "evidence.add"

    bundle_id: uuid.UUID
    items: list[EvidenceItemInput] = Field(min_length=1, max_length=500)


class SuggestStatement(_IncidentCommand):
    """Draft a statement from templates and key facts for the caller to revise; nothing kept."""

    NAME: ClassVar[str] = "statement.suggest"

    incident_id: uuid.UUID
    channel: Channel
    stage: StatementStage | None = Field(
        default=None, description="Null: the stage the incident is at on this channel."
    )


class SetStatementTemplate(_IncidentCommand):
    """Give the organization its own template for a stage and channel (a new version)."""

    NAME: ClassVar[str] = "statement.set_template"

    stage: StatementStage
    channel: Channel
    crisis_type: CrisisType | None = Field(default=None, description="Null: every crisis type.")
    body: str = Field(min_length=1, max_length=5000)


class SendSituationReport(_IncidentCommand):
    """Send a drafted situation report to the team's chat and webhooks, as edited here."""

    NAME: ClassVar[str] = "situation_report.send"

    report_id: uuid.UUID
    conditions: list[Annotated[str, Field(max_length=500)]] | None = Field(
        default=None, max_length=30
    )
    actions: list[Annotated[str, Field(max_length=500)]] | None = Field(default=None, max_length=30)
    needs: list[Annotated[str, Field(max_length=500)]] | None = Field(default=None, max_length=30)
    overview: str | None = Field(default=None, max_length=2000)
    next_steps: list[Annotated[str, Field(max_length=500)]] | None = Field(
        default=None, max_length=30
    )


class CompleteTask(_IncidentCommand):
    """Mark a response task done."""

    NAME: ClassVar[str] = "task.complete"

    task_id: uuid.UUID
    note: str | None = Reason


class SetRota(_IncidentCommand):
    """Set who takes turns on duty in a role, week by week, and when they hand off."""

    NAME: ClassVar[str] = "rota.set"

    role: TeamRole
    people: list[uuid.UUID] = Field(min_length=1, max_length=100)
    handoff_weekday: int = Field(ge=0, le=6, description="0 is Monday.")
    handoff_time: time = Field(description="Local time in the organization's time zone.")
    starts_on: date | None = Field(
        default=None, description="The first person starts at the first hand-off from this day."
    )


class SetRotaOverride(_IncidentCommand):
    """Put someone on duty in a role instead of the rotation, for a while."""

    NAME: ClassVar[str] = "rota.override"

    role: TeamRole
    person_id: uuid.UUID
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str | None = Field(default=None, max_length=500)


class AcknowledgePage(_IncidentCommand):
    """Say that the paged person took the page; acknowledging again changes nothing."""

    NAME: ClassVar[str] = "page.acknowledge"

    page_id: uuid.UUID


class DraftStatement(_IncidentCommand):
    """Write a statement for one channel; it starts as a draft."""

    NAME: ClassVar[str] = "statement.draft"

    incident_id: uuid.UUID
    channel: Channel
    body: str = Field(min_length=1, max_length=20_000)


class ReviseStatement(_IncidentCommand):
    """Change a statement's text; its reviews start over."""

    NAME: ClassVar[str] = "statement.revise"

    statement_id: uuid.UUID
    body: str = Field(min_length=1, max_length=20_000)


class ReviewStatement(_IncidentCommand):
    """Approve or reject a statement at one review stage (levels in order, legal for red)."""

    NAME: ClassVar[str] = "statement.review"

    statement_id: uuid.UUID
    stage: ReviewStage
    decision: ReviewDecision
    note: str | None = Reason


class RequestLegalReview(_IncidentCommand):
    """Ask for legal approval of a statement, whatever its incident's tier."""

    NAME: ClassVar[str] = "statement.request_legal_review"

    statement_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=2000)


class PublishStatement(_IncidentCommand):
    """Record that an approved statement went out, where and when."""

    NAME: ClassVar[str] = "statement.publish"

    statement_id: uuid.UUID
    url: WebLink
    published_at: AwareDatetime


class KeyFactEntry(BaseModel):
    """One fact every statement must carry the same way."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    value: str = Field(min_length=1, max_length=2000)


class SetKeyFacts(_IncidentCommand):
    """Replace an incident's key facts."""

    NAME: ClassVar[str] = "incident.set_key_facts"

    incident_id: uuid.UUID
    facts: list[KeyFactEntry] = Field(max_length=50)


class FileReply(_IncidentCommand):
    """File a mention (or a question's text) with the reply used, in the reply library."""

    NAME: ClassVar[str] = "reply.file"

    incident_id: uuid.UUID | None = None
    mention_id: uuid.UUID | None = None
    text: str | None = Field(default=None, max_length=20_000)
    category: str = Field(min_length=1, max_length=64)
    reply: str = Field(min_length=1, max_length=20_000)


def _absent(value: object) -> bool:
    """Whether an added optional field is unset, and so left out of the JSON."""
    return value is None


class AddAffectedUser(_IncidentCommand):
    """Record a harmed customer with follow-up and compensation tasks.

    Version 2: the name and the contact are sealed on the queue (`SEALED`); version 1
    carried them in clear. The visit schedule, owner and complaint were added to version 2
    and are left out of the JSON when absent, so a worker that predates them still reads a
    command that does not use them.
    """

    NAME: ClassVar[str] = "affected_user.add"
    VERSION: ClassVar[int] = 2

    incident_id: uuid.UUID
    name: str = Field(min_length=1, max_length=200, json_schema_extra=SEALED)
    contact_kind: ContactKind
    contact: str = Field(min_length=1, max_length=200, json_schema_extra=SEALED)
    follow_up_due_at: AwareDatetime | None = None
    compensation_amount: float | None = Field(default=None, ge=0)
    visit_offsets_hours: list[int] | None = Field(
        default=None,
        exclude_if=_absent,
        min_length=1,
        max_length=10,
        description="When each follow-up visit is due, in hours after now; default 24 and 168.",
    )
    owner_person_id: uuid.UUID | None = Field(
        default=None, exclude_if=_absent, description="The person who makes the follow-up visits."
    )
    complaint_id: uuid.UUID | None = Field(
        default=None, exclude_if=_absent, description="The complaint the user filed, if known."
    )


class CompleteFollowUp(_IncidentCommand):
    """Mark a follow-up or compensation task done, with what came of it.

    The outcome's fields were added to version 1 and are left out of the JSON when absent,
    so a worker that predates them still reads a command that does not use them.
    """

    NAME: ClassVar[str] = "follow_up.complete"

    task_id: uuid.UUID
    note: str | None = Reason
    reached: bool | None = Field(default=None, exclude_if=_absent)
    satisfied: bool | None = Field(default=None, exclude_if=_absent)
    compensation_paid: bool | None = Field(default=None, exclude_if=_absent)
    paid_amount: float | None = Field(default=None, ge=0, exclude_if=_absent)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", exclude_if=_absent)
    feedback: str | None = Field(default=None, max_length=4000, exclude_if=_absent)


class UpdateFollowUp(_IncidentCommand):
    """Give a follow-up another owner or a new due time (watched again from then)."""

    NAME: ClassVar[str] = "follow_up.update"

    task_id: uuid.UUID
    owner_person_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None


class RevealContact(_IncidentCommand):
    """Show an affected user's contact in clear to the person who calls them, for a reason.

    Name the user or one of their follow-ups; the answer carries the contact in `once`.
    """

    NAME: ClassVar[str] = "affected_user.reveal_contact"

    affected_user_id: uuid.UUID | None = None
    follow_up_id: uuid.UUID | None = None
    reason: str = Field(min_length=1, max_length=500)


class ImprovementEntry(BaseModel):
    """One improvement a review commits to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str = Field(min_length=1, max_length=2000)
    owner: str = Field(min_length=1, max_length=200)
    due_at: AwareDatetime | None = None


class UpdateReview(_IncidentCommand):
    """Write the people's parts of a review: root cause and improvement actions."""

    NAME: ClassVar[str] = "review.update"

    incident_id: uuid.UUID
    root_cause: str | None = Field(default=None, max_length=20_000)
    improvements: list[ImprovementEntry] | None = Field(default=None, max_length=50)


class UpdateImprovementAction(_IncidentCommand):
    """Move an improvement action along (in progress, done, verified, dropped with a reason),
    give it an owner who is a person, or a new due date; an omitted field stays."""

    NAME: ClassVar[str] = "improvement.update"

    action_id: uuid.UUID
    status: ImprovementStatus | None = None
    reason: str | None = Field(default=None, max_length=2000)
    owner_person_id: uuid.UUID | None = None
    due_at: AwareDatetime | None = None


class CompleteReview(_IncidentCommand):
    """Mark a review complete; refused while a required section is empty."""

    NAME: ClassVar[str] = "review.complete"

    incident_id: uuid.UUID


class TeamSlot(BaseModel):
    """A role and how many people fill it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: TeamRole
    count: int = Field(ge=1, le=20)


class PlaybookTask(BaseModel):
    """A task a playbook adds, due a number of minutes after detection."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1, max_length=300)
    due_after_minutes: int = Field(ge=1, le=60 * 24 * 30)
    role: TeamRole
    channel: Channel | None = None


class SetPlaybook(_IncidentCommand):
    """Replace an organization's playbook for a tier (and optionally one crisis type)."""

    NAME: ClassVar[str] = "playbook.set"

    tier: Tier
    crisis_type: CrisisType | None = None
    team: list[TeamSlot] = Field(min_length=1, max_length=20)
    tasks: list[PlaybookTask] = Field(min_length=1, max_length=50)
    legal_review: bool | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description=(
            "Whether statements of incidents at this tier need legal approval too; red "
            "incidents' always do. Absent: only red's (the default)."
        ),
    )


class WatchlistRef(BaseModel):
    """The watchlist an incident belongs to."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: uuid.UUID
    name: str


class IncidentTaskSummary(BaseModel):
    """A response task not yet done, with its deadline and whether it has passed."""

    model_config = ConfigDict(frozen=True, extra="allow")

    id: uuid.UUID
    kind: str
    title: str
    role: TeamRole | None = Field(description="The team role that owns the task.")
    channel: Channel | None = Field(description="The channel a statement task is for.")
    due_at: AwareDatetime
    overdue: bool = Field(description="Its deadline had passed when the event happened.")


class ForecastHorizon(BaseModel):
    """The tier and reach a forecast expects some time ahead."""

    model_config = ConfigDict(frozen=True)

    after_seconds: int
    tier: Tier | None
    reach: int = Field(description="Audience reached since detection, views summed.")


class IncidentForecast(BaseModel):
    """Where the incident is heading at its current pace (see docs/forecast.md)."""

    model_config = ConfigDict(frozen=True, extra="allow")

    trend: ForecastTrend
    next_tier: Tier | None
    seconds_to_next_tier: int | None = Field(
        description="Null when the pace is flat or falling, at red, or beyond four hours."
    )
    seconds_to_peak: int | None
    horizons: list[ForecastHorizon] = Field(description="In one hour and in four hours.")
    summary: str = Field(description="The forecast in one Chinese line.")


class IncidentSummary(BaseModel):
    """The incident as it stood when the event happened, so receivers need no second lookup.

    Texts are masked (no clear phone numbers, e-mail addresses or ID card numbers), and
    affected users never appear. New fields may be added; receivers ignore what they do
    not know.
    """

    model_config = ConfigDict(frozen=True, extra="allow")

    id: uuid.UUID
    title: str
    status: IncidentStatus
    tier: Tier
    crisis_type: CrisisType | None
    watchlist: WatchlistRef
    detected_at: AwareDatetime
    reasons: list[str] = Field(
        description="Why the incident stands at its tier: the latest signal's reasons, or "
        "the reason given for the latest change of tier by hand."
    )
    tasks: list[IncidentTaskSummary] = Field(description="Open tasks, soonest deadline first.")
    forecast: IncidentForecast | None = Field(
        default=None, description="Where the incident is heading at its current pace."
    )
    drill: bool = Field(
        default=False, description="true: the incident belongs to a drill (演练), not a crisis."
    )


class EventPayload(BaseModel):
    """An event's payload: its type's own fields, plus `incident` for events about one."""

    model_config = ConfigDict(frozen=True, extra="allow")

    incident: IncidentSummary | None = None


def _plain_json(payload: EventPayload) -> dict[str, Any]:
    data = payload.model_dump(mode="json", exclude_unset=True)
    if "incident" in data:
        data["incident"] = data.pop("incident")  # the event's own fields first, for readers
    return data


# Validated and documented as `EventPayload`, but kept a plain JSON object at run time: the
# payload is stored and forwarded as it is, and handlers read it like any JSON document.
Payload = Annotated[
    dict[str, Any],
    GetPydanticSchema(lambda _type, handler: handler(EventPayload)),
    AfterValidator(_plain_json),
    PlainSerializer(lambda payload: payload),
]


class IntegrationEventEmitted(Message):
    """Something integrators subscribe to happened; `event_id` stays the same on redelivery.

    The payload's `incident` summary was added within version 1: it is optional, and every
    field that came before it keeps its name and meaning.
    """

    NAME: ClassVar[str] = "integration.event"
    VERSION: ClassVar[int] = 1
    QUEUE: ClassVar[str] = EVENTS_QUEUE

    event_id: uuid.UUID
    type: EventType
    incident_id: uuid.UUID | None = None
    occurred_at: AwareDatetime
    payload: Payload
    drill: DrillDelivery | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description=(
            "Set when the event is about a drill's incident: what notify does with it "
            "(`suppress`: nothing is sent; `label`: sent marked 【演练】). Absent otherwise."
        ),
    )


RESPONSE_MESSAGES: tuple[type[Message], ...] = (
    TransitionIncident,
    ChangeIncidentTier,
    AssignRole,
    SnoozeWatchlist,
    AddOwnAccount,
    UpdateOwnAccount,
    AddPartner,
    UpdatePartner,
    SetPartnerStatus,
    CreateEvidenceBundle,
    AddEvidence,
    SuggestStatement,
    SetStatementTemplate,
    SendSituationReport,
    UpdateImprovementAction,
    CompleteTask,
    SetRota,
    SetRotaOverride,
    AcknowledgePage,
    DraftStatement,
    ReviseStatement,
    ReviewStatement,
    RequestLegalReview,
    PublishStatement,
    SetKeyFacts,
    FileReply,
    AddAffectedUser,
    CompleteFollowUp,
    UpdateFollowUp,
    RevealContact,
    UpdateReview,
    CompleteReview,
    SetPlaybook,
    IntegrationEventEmitted,
)
