"""Typed payloads of the integration events integrators subscribe to (webhooks, chat bots).

The incidents service builds each payload from one of these models and notify reads it
back through the same model, so a field cannot be renamed or mistyped in one place only.
A receiver sees the JSON these models dump (`EventBody.body`): their JSON Schemas are
pinned by a test beside the queue messages', so the webhook contract never changes by
accident. Times serialise as ISO 8601 with their offset, exactly as `datetime.isoformat`
writes them, and every field set at construction is written, `None` included; optional
fields left unset are left out, as they always were.
"""

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from libs.contracts.enums import EventType, WatchlistKind

IsoTime = Annotated[datetime, PlainSerializer(lambda at: at.isoformat(), return_type=str)]


class EventBody(BaseModel):
    """Base of every event payload: its type, and the JSON a receiver gets."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    TYPE: ClassVar[EventType]

    def body(self) -> dict[str, Any]:
        """Return the payload as receivers see it (before the incident summary is added)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class IncidentOpened(EventBody):
    """`incident.opened`: a risk signal opened an incident with its tier's playbook."""

    TYPE: ClassVar[EventType] = EventType.INCIDENT_OPENED

    incident_id: uuid.UUID
    title: str
    tier: str
    status: str
    watchlist_id: uuid.UUID
    story_id: uuid.UUID | None
    crisis_type: str | None
    detected_at: IsoTime
    signal_id: uuid.UUID
    score: float
    reasons: list[str]
    playbook: str
    recurrence_of_id: uuid.UUID | None


class IncidentMoved(EventBody):
    """Base of the events that move an incident from one value to another, and who did."""

    incident_id: uuid.UUID
    from_: str = Field(alias="from")
    to: str
    actor: str


class IncidentTierChanged(IncidentMoved):
    """`incident.tier_changed`: a signal or a person moved the incident's tier."""

    TYPE: ClassVar[EventType] = EventType.INCIDENT_TIER_CHANGED

    reasons: list[str]
    added_tasks: list[str]
    timeline_event_id: uuid.UUID


class IncidentStatusChanged(IncidentMoved):
    """`incident.status_changed`: the incident moved in its life (and why, when given)."""

    TYPE: ClassVar[EventType] = EventType.INCIDENT_STATUS_CHANGED

    reason: str | None
    timeline_event_id: uuid.UUID
    merged_into_id: uuid.UUID | None = Field(default=None, description="Set on a merge.")
    reopened_count: int | None = Field(default=None, description="Set when it reopens.")
    signal_id: uuid.UUID | None = Field(default=None, description="The signal that reopened it.")
    tier: str | None = Field(default=None, description="That signal's tier.")
    score: float | None = Field(default=None, description="That signal's score.")
    reasons: list[str] | None = Field(default=None, description="That signal's reasons.")


class Escalation(BaseModel):
    """Who an overdue task went to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    person: str | None


class TaskOverdue(EventBody):
    """`task.overdue`: a response task passed its deadline and was escalated."""

    TYPE: ClassVar[EventType] = EventType.TASK_OVERDUE

    task_id: uuid.UUID
    kind: str
    title: str
    role: str | None
    channel: str | None
    due_at: IsoTime
    breached_at: IsoTime
    minutes_late: int
    escalated_to: Escalation


class StatementPublished(EventBody):
    """`statement.published`: an approved statement went out on its channel."""

    TYPE: ClassVar[EventType] = EventType.STATEMENT_PUBLISHED

    statement_id: uuid.UUID
    incident_id: uuid.UUID
    channel: str
    url: str | None
    published_at: IsoTime


class ImprovementItem(BaseModel):
    """One improvement the review commits to."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    owner: str
    due_at: IsoTime | None


class ReviewCompleted(EventBody):
    """`review.completed`: the post-incident review was signed off."""

    TYPE: ClassVar[EventType] = EventType.REVIEW_COMPLETED

    review_id: uuid.UUID
    incident_id: uuid.UUID
    completed_by: str
    root_cause: str | None
    improvements: list[ImprovementItem]
    stages_missed: int
    tasks_missed: int


class TieredWatchlist(BaseModel):
    """A watchlist holding a tier now."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    watchlist_id: uuid.UUID
    name: str
    tier: str
    kind: WatchlistKind = Field(
        default=WatchlistKind.OWN_BRAND,
        description="What it watches; a competitor's or an industry's opens no incident.",
    )


class Spike(BaseModel):
    """A watchlist that raised risk signals in the last 24 hours: its highest tier and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    watchlist_id: uuid.UUID
    name: str
    tier: str
    signals: int
    last_at: IsoTime
    reasons: list[str]
    kind: WatchlistKind = Field(
        default=WatchlistKind.OWN_BRAND,
        description="What it watches; a competitor's or an industry's opens no incident.",
    )


class NegativeStory(BaseModel):
    """A story (传播路径) with negative mentions posted in the last 24 hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    story_id: uuid.UUID
    title: str
    negative: int
    mentions: int


class RisingTerm(BaseModel):
    """A term more mentions carried in the last 24 hours than in the 24 hours before."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    term: str
    mentions: int
    previous: int


class OpenIncident(BaseModel):
    """An incident still being handled."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    incident_id: uuid.UUID
    title: str
    tier: str
    status: str
    detected_at: IsoTime


class OverdueTask(BaseModel):
    """A response task of an open incident past its deadline and not done."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    task_id: uuid.UUID
    incident_id: uuid.UUID
    title: str
    due_at: IsoTime


class RiskCheckCompleted(EventBody):
    """`risk_check.completed`: the daily risk check (定期风险排查) of an organization.

    The lists are capped (the most severe or largest first); the totals count everything.
    """

    TYPE: ClassVar[EventType] = EventType.RISK_CHECK_COMPLETED

    check_id: uuid.UUID
    day: date = Field(description="The organization's local day the check is for.")
    time_zone: str
    checked_at: IsoTime
    since: IsoTime = Field(description="Start of the 24 hours the check looked back over.")
    watchlists: list[TieredWatchlist]
    spikes: list[Spike]
    negative_stories: list[NegativeStory]
    rising_terms: list[RisingTerm]
    open_incidents: list[OpenIncident]
    open_incident_total: int
    overdue_tasks: list[OverdueTask]
    overdue_task_total: int


class QuietAccount(BaseModel):
    """One of the organization's own accounts whose scheduled posts a quiet period pauses."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_id: uuid.UUID
    platform: str
    handle: str
    owner: str | None
    pause_task_id: uuid.UUID | None


class QuietPeriodStarted(EventBody):
    """`quiet_period.started`: an incident reached orange; the organization's own accounts
    pause scheduled and marketing posts (暂停敏感账号运营) until it recovers."""

    TYPE: ClassVar[EventType] = EventType.QUIET_PERIOD_STARTED

    quiet_period_id: uuid.UUID
    incident_id: uuid.UUID
    tier: str
    started_at: IsoTime
    accounts: list[QuietAccount]


class QuietPeriodEnded(EventBody):
    """`quiet_period.ended`: the incident is recovering (or was closed); posting may resume."""

    TYPE: ClassVar[EventType] = EventType.QUIET_PERIOD_ENDED

    quiet_period_id: uuid.UUID
    incident_id: uuid.UUID
    started_at: IsoTime
    ended_at: IsoTime
    status: str = Field(description="The incident's status that ended it.")
    accounts: list[QuietAccount]


class SituationReportSent(EventBody):
    """`situation_report.sent`: the war room's periodic situation report, as reviewed.

    The tactical part is for the team (conditions, actions, needs), the executive part for
    leadership (status, overview, next steps).
    """

    TYPE: ClassVar[EventType] = EventType.SITUATION_REPORT_SENT

    report_id: uuid.UUID
    incident_id: uuid.UUID
    number: int
    covers_from: IsoTime
    covers_until: IsoTime
    conditions: list[str]
    actions: list[str]
    needs: list[str]
    status: str
    overview: str
    next_steps: list[str]
    sent_by: str


class ImprovementOverdue(EventBody):
    """`improvement.overdue`: an improvement a review committed to passed its due date
    without being done."""

    TYPE: ClassVar[EventType] = EventType.IMPROVEMENT_OVERDUE

    action_id: uuid.UUID
    incident_id: uuid.UUID
    action: str
    owner: str
    status: str
    due_at: IsoTime
    days_late: int


class ChatHandle(BaseModel):
    """A person's handle on a chat platform, for an @-mention."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    platform: str
    handle: str


class PersonPaged(EventBody):
    """`person.paged`: the person on duty in a role was called to an incident, to acknowledge.

    `reason` is `incident_opened` (the monitor on duty takes a new incident) or
    `task_overdue` (a task escalated up the chain to this role; `task_id` names it).
    """

    TYPE: ClassVar[EventType] = EventType.PERSON_PAGED

    page_id: uuid.UUID
    incident_id: uuid.UUID
    person_id: uuid.UUID
    person: str
    role: str
    reason: str
    task_id: uuid.UUID | None
    paged_at: IsoTime
    chat_handles: list[ChatHandle]


class FollowUpOverdue(EventBody):
    """`follow_up.overdue`: a follow-up visit (回访) to an affected user passed its due time
    undone; it names its owner and the commander it was escalated to."""

    TYPE: ClassVar[EventType] = EventType.FOLLOW_UP_OVERDUE

    follow_up_id: uuid.UUID
    incident_id: uuid.UUID
    affected_user_id: uuid.UUID
    user: str = Field(description="The user's masked name, e.g. 张*.")
    kind: str
    visit: int | None
    owner: str | None
    escalated_to: list[str]
    due_at: IsoTime
    hours_late: int


class ForecastDeadlineAtRisk(EventBody):
    """`forecast.deadline_at_risk`: at the current pace the crisis peaks before the first
    statement is due, so the company would speak after the worst of it."""

    TYPE: ClassVar[EventType] = EventType.FORECAST_DEADLINE_AT_RISK

    task_id: uuid.UUID
    kind: str
    title: str
    due_at: IsoTime
    peak_at: IsoTime
    minutes_before_deadline: int = Field(
        description="How many whole minutes before the deadline the projected peak comes."
    )
    growth_per_hour: float = Field(
        description="The fitted growth of the watchlist's mentions: log change per hour."
    )
    tier_in_1h: str | None
    tier_in_4h: str | None
    next_tier: str | None
    minutes_to_next_tier: int | None
    summary: str


EVENT_BODIES: dict[EventType, type[EventBody]] = {
    model.TYPE: model
    for model in (
        IncidentOpened,
        IncidentTierChanged,
        IncidentStatusChanged,
        TaskOverdue,
        StatementPublished,
        ReviewCompleted,
        RiskCheckCompleted,
        QuietPeriodStarted,
        QuietPeriodEnded,
        SituationReportSent,
        ImprovementOverdue,
        PersonPaged,
        FollowUpOverdue,
        ForecastDeadlineAtRisk,
    )
}


def parse_body(type_: EventType, payload: dict[str, Any]) -> EventBody:
    """Read an event's own fields back from its payload (the incident summary is ignored)."""
    own = {key: value for key, value in payload.items() if key != "incident"}
    return EVENT_BODIES[type_].model_validate(own)
