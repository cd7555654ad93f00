"""Incidents, their response tasks and timelines. Written only by the incidents service."""

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Date, Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from libs.database.tables._types import (
    OrganizationRow,
    at_field,
    child_of,
    jsonb_field,
    org_field,
    uuid_array_field,
)

OPEN_INCIDENT_PREDICATE = "status NOT IN ('resolved', 'closed', 'merged', 'false_alarm')"


class Incident(OrganizationRow, table=True):
    """A crisis being handled; at most one open incident per watchlist (partial unique index)."""

    __table_args__ = (
        Index(
            "uq_incident_open_per_watchlist",
            "watchlist_id",
            unique=True,
            postgresql_where=text(OPEN_INCIDENT_PREDICATE),
        ),
        Index("ix_incident_org_detected", "organization_id", "detected_at", "id"),
    )

    # Its own index: the partial unique one covers open incidents only, and deleting a
    # watchlist looks up all of them.
    watchlist_id: uuid.UUID = child_of("watchlist", index=True)
    title: str = Field(max_length=300)
    tier: str = Field(max_length=8)
    status: str = Field(max_length=16)
    detected_at: datetime = at_field()
    acknowledged_at: datetime | None = at_field(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=200)
    last_signal_id: uuid.UUID | None = Field(default=None, foreign_key="risk_signal.id", index=True)
    story_id: uuid.UUID | None = None
    crisis_type: str | None = Field(default=None, max_length=32)
    status_reason: str | None = Field(default=None, max_length=2000)
    resolved_at: datetime | None = at_field(nullable=True)
    closed_at: datetime | None = at_field(nullable=True)
    merged_into_id: uuid.UUID | None = Field(default=None, foreign_key="incident.id", index=True)
    recurrence_of_id: uuid.UUID | None = Field(default=None, foreign_key="incident.id", index=True)
    reopened_count: int = 0
    drill: bool = False
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class ResponseTask(OrganizationRow, table=True):
    """A playbook task with its deadline, computed from the incident's `detected_at`."""

    __tablename__ = "response_task"
    __table_args__ = (
        UniqueConstraint("incident_id", "kind"),
        # The deadline watchdog's query: open tasks not yet breached, by due time.
        Index(
            "ix_response_task_due_open",
            "due_at",
            postgresql_where=text("status = 'open' AND breached_at IS NULL"),
        ),
    )

    incident_id: uuid.UUID = child_of("incident", index=True)
    kind: str = Field(max_length=32)
    title: str = Field(max_length=300)
    position: int = 0
    due_at: datetime = at_field()
    status: str = Field(default="open", max_length=16)
    completed_at: datetime | None = at_field(nullable=True)
    completed_by: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=24)
    channel: str | None = Field(default=None, max_length=16)
    breached_at: datetime | None = at_field(nullable=True)
    escalated_to: str | None = Field(default=None, max_length=24)
    created_at: datetime = at_field(default_now=True)


class TimelineEvent(OrganizationRow, table=True):
    """One change to an incident, who made it and why; the timeline is append-only."""

    __tablename__ = "timeline_event"
    __table_args__ = (Index("ix_timeline_event_incident_at", "incident_id", "occurred_at"),)

    incident_id: uuid.UUID = child_of("incident")
    kind: str = Field(max_length=32)
    message: str
    actor: str = Field(default="system", max_length=200)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    data: dict[str, Any] = jsonb_field()
    occurred_at: datetime = at_field(default_now=True)


class IncidentMember(OrganizationRow, table=True):
    """Who holds which role on an incident's team (commander, spokesperson, legal…)."""

    __tablename__ = "incident_member"
    __table_args__ = (UniqueConstraint("incident_id", "role", "person"),)

    incident_id: uuid.UUID = child_of("incident", index=True)
    role: str = Field(max_length=24)
    person: str = Field(max_length=200)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    assigned_by: str = Field(default="system", max_length=200)
    assigned_at: datetime = at_field(default_now=True)


class Playbook(OrganizationRow, table=True):
    """An organization's response for a tier and crisis type ("*" = any type).

    `team` lists roles and head counts; `tasks` lists kind, title, minutes after detection,
    owning role and channel. Organizations without a row use the defaults in code.
    """

    __table_args__ = (UniqueConstraint("organization_id", "tier", "crisis_type"),)

    tier: str = Field(max_length=8)
    crisis_type: str = Field(default="*", max_length=32)
    team: list[dict[str, Any]] = jsonb_field(default=list)
    tasks: list[dict[str, Any]] = jsonb_field(default=list)
    legal_review: bool = False
    updated_at: datetime = at_field(default_now=True)


class WatchlistSnooze(OrganizationRow, table=True):
    """A watchlist silenced until `until`: its signals open no incident meanwhile.

    `held_signal` is the crisis signal the silence held back (the latest, as a
    `risk.signal_raised.v1` document), kept on the snooze that ends last: when the
    watchlist is silent no more, it is applied if its tier still opens an incident.
    """

    __tablename__ = "watchlist_snooze"
    __table_args__ = (
        Index("ix_watchlist_snooze_watchlist_until", "watchlist_id", "until"),
        # The snooze-end pass reads only the few snoozes that hold a signal back.
        Index(
            "ix_watchlist_snooze_held",
            "until",
            postgresql_where=text("held_signal IS NOT NULL"),
        ),
    )

    watchlist_id: uuid.UUID = child_of("watchlist")
    until: datetime = at_field()
    reason: str = Field(max_length=2000)
    actor: str = Field(max_length=200)
    # none_as_null: a cleared hold is SQL NULL (what the partial index and queries test).
    held_signal: dict[str, Any] | None = Field(
        default=None, sa_type=JSONB(none_as_null=True), nullable=True
    )
    created_at: datetime = at_field(default_now=True)


class AppliedSignal(SQLModel, table=True):
    """Proof that incidents applied a risk signal, and how: one row per signal, kept with it.

    Written in the transaction that applies the signal's message (a rise or a fall), so a
    signal without a row is one incidents has not applied yet. Not every application
    leaves a timeline entry naming the signal (a fall of a watchlist with no incident, a
    crisis a snooze holds back), and the message receipt is pruned after a week and names
    the message, not the signal: this row is what says a stored signal was applied.
    """

    __tablename__ = "applied_signal"

    signal_id: uuid.UUID = Field(primary_key=True, foreign_key="risk_signal.id", ondelete="CASCADE")
    organization_id: uuid.UUID = org_field()
    outcome: str = Field(max_length=16)
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incident.id", index=True)
    applied_at: datetime = at_field()


class Statement(OrganizationRow, table=True):
    """A public statement for one channel, from draft through review to publication."""

    __table_args__ = (Index("ix_statement_incident", "incident_id", "created_at"),)

    incident_id: uuid.UUID = child_of("incident")
    channel: str = Field(max_length=16)
    body: str
    status: str = Field(default="draft", max_length=16)
    review_level: int = 0
    review_round: int = 0
    legal_requested: bool = False
    legal_approved: bool = False
    flags: list[dict[str, Any]] = jsonb_field(default=list)
    published_url: str | None = Field(default=None, max_length=2000)
    published_at: datetime | None = at_field(nullable=True)
    created_by: str = Field(max_length=200)
    created_by_person_id: uuid.UUID | None = Field(
        default=None, foreign_key="person.id", index=True
    )
    revised_by_person_id: uuid.UUID | None = Field(
        default=None, foreign_key="person.id", index=True
    )
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class StatementReview(OrganizationRow, table=True):
    """One review decision on a statement (levels 1–3 and legal), kept for the record."""

    __tablename__ = "statement_review"

    statement_id: uuid.UUID = child_of("statement", index=True)
    stage: str = Field(max_length=8)
    decision: str = Field(max_length=8)
    reviewer: str = Field(max_length=200)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    review_round: int = 0
    note: str | None = Field(default=None, max_length=2000)
    reviewed_at: datetime = at_field(default_now=True)


class KeyFact(OrganizationRow, table=True):
    """A fact every channel's statement must carry the same way (一致性原则)."""

    __tablename__ = "key_fact"
    __table_args__ = (UniqueConstraint("incident_id", "label"),)

    incident_id: uuid.UUID = child_of("incident")
    label: str = Field(max_length=200)
    value: str = Field(max_length=2000)
    created_at: datetime = at_field(default_now=True)


class ReplyCase(OrganizationRow, table=True):
    """A filed mention (or question) with the reply that was used: the 问答库."""

    __tablename__ = "reply_case"

    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incident.id", index=True)
    # The case keeps its own copy of the text: when retention removes the raw mention, the
    # case stays in the library and only loses its link.
    mention_id: uuid.UUID | None = Field(
        default=None, foreign_key="mention.id", ondelete="SET NULL", index=True
    )
    category: str = Field(max_length=64)
    text: str
    reply: str
    signature: bytes | None = Field(default=None, sa_type=LargeBinary)
    created_by: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)


class AffectedUser(OrganizationRow, table=True):
    """A customer the incident harmed; contact data only encrypted, shown only masked."""

    __tablename__ = "affected_user"

    incident_id: uuid.UUID = child_of("incident", index=True)
    name_masked: str = Field(max_length=200)
    contact_kind: str = Field(max_length=16)
    contact_masked: str = Field(max_length=200)
    contact_cipher: bytes = Field(sa_type=LargeBinary)
    created_by: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)
    # The complaint the user filed, if known; the complaint goes with its mention's retention.
    complaint_id: uuid.UUID | None = Field(
        default=None, foreign_key="complaint.id", ondelete="SET NULL", index=True
    )


class FollowUpTask(OrganizationRow, table=True):
    """A follow-up visit (回访, one row per visit of its schedule) or a compensation owed to
    one affected user, with its owner, its deadline watch and the outcome recorded.

    `overdue_at` marks when the follow-up deadline pass found it late and
    `escalated_to_person_id` whom it told; `feedback` (收集改进意见) is kept masked.
    """

    __tablename__ = "follow_up_task"
    # What the follow-up deadline pass reads every few seconds: open tasks not yet marked.
    __table_args__ = (
        Index(
            "ix_follow_up_task_due_open",
            "due_at",
            postgresql_where=text("status = 'open' AND overdue_at IS NULL"),
        ),
    )

    affected_user_id: uuid.UUID = child_of("affected_user", index=True)
    incident_id: uuid.UUID = child_of("incident", index=True)
    kind: str = Field(max_length=16)
    status: str = Field(default="open", max_length=16)
    due_at: datetime | None = at_field(nullable=True)
    amount: float | None = None
    note: str | None = Field(default=None, max_length=2000)
    completed_at: datetime | None = at_field(nullable=True)
    visit: int | None = None
    owner_person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    overdue_at: datetime | None = at_field(nullable=True)
    escalated_to_person_id: uuid.UUID | None = Field(
        default=None, foreign_key="person.id", index=True
    )
    reached: bool | None = None
    satisfied: bool | None = None
    compensation_paid: bool | None = None
    paid_amount: float | None = None
    currency: str | None = Field(default=None, max_length=3)
    feedback: str | None = Field(default=None, max_length=4000)


class ReviewReport(OrganizationRow, table=True):
    """The post-incident review (复盘): computed sections plus what people wrote."""

    __tablename__ = "review_report"

    incident_id: uuid.UUID = child_of("incident", unique=True)
    status: str = Field(default="draft", max_length=16)
    sections: dict[str, Any] = jsonb_field()
    root_cause: str | None = None
    completed_at: datetime | None = at_field(nullable=True)
    completed_by: str | None = Field(default=None, max_length=200)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class ImprovementAction(OrganizationRow, table=True):
    """An improvement a review committed to, with a life: an owner (a person), a due date,
    a status (open, in progress, done, verified, dropped with a reason); reopened when a
    similar incident recurs unless it was finished. `overdue_at` marks when the
    improvement-deadline pass found it late."""

    __tablename__ = "improvement_action"

    incident_id: uuid.UUID = child_of("incident", index=True)
    watchlist_id: uuid.UUID = child_of("watchlist", index=True)
    action: str = Field(max_length=2000)
    owner: str = Field(max_length=200)
    status: str = Field(default="open", max_length=16)
    due_at: datetime | None = at_field(nullable=True)
    reopened_by_incident_id: uuid.UUID | None = Field(
        default=None, foreign_key="incident.id", index=True
    )
    created_at: datetime = at_field(default_now=True)
    owner_person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    status_reason: str | None = Field(default=None, max_length=2000)
    status_changed_at: datetime | None = at_field(nullable=True)
    status_changed_by: str | None = Field(default=None, max_length=200)
    done_at: datetime | None = at_field(nullable=True)
    overdue_at: datetime | None = at_field(nullable=True)


class IntegrationEvent(SQLModel, table=True):
    """An event for integrators, written with the change it reports; `id` is stable."""

    __tablename__ = "integration_event"
    __table_args__ = (Index("ix_integration_event_org_at", "organization_id", "occurred_at"),)

    id: uuid.UUID = Field(primary_key=True)
    organization_id: uuid.UUID = org_field()
    type: str = Field(max_length=32)
    incident_id: uuid.UUID | None = Field(default=None, foreign_key="incident.id", index=True)
    payload: dict[str, Any] = jsonb_field()
    occurred_at: datetime = at_field()


class RiskCheck(OrganizationRow, table=True):
    """An organization's daily risk check (定期风险排查): one row per local day, never two.

    `report` is the `risk_check.completed` event's body (`libs.contracts.events`), so what
    was stored, what integrators received and what GraphQL shows are one document.
    """

    __tablename__ = "risk_check"
    __table_args__ = (UniqueConstraint("organization_id", "day"),)

    day: date = Field(sa_type=Date)
    time_zone: str = Field(max_length=64)
    checked_at: datetime = at_field()
    report: dict[str, Any] = jsonb_field()


class OwnAccount(OrganizationRow, table=True):
    """One of the organization's own accounts (官方账号): a quiet period pauses its posts.

    `owner` names who runs it, so the pause task says whom to ask; an inactive account is
    kept for the record but paused no more.
    """

    __tablename__ = "own_account"
    __table_args__ = (UniqueConstraint("organization_id", "platform", "handle"),)

    platform: str = Field(max_length=16)
    handle: str = Field(max_length=100)
    owner: str | None = Field(default=None, max_length=200)
    active: bool = True
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class QuietPeriod(OrganizationRow, table=True):
    """A stretch in which the organization's own accounts stay quiet during an incident.

    Started when an open incident is at orange or above, ended when it recovers (or is
    resolved, closed, merged or called a false alarm); at most one runs per incident.
    `accounts` keeps what the start event told, so the end tells the same accounts.
    """

    __tablename__ = "quiet_period"
    __table_args__ = (
        Index(
            "uq_quiet_period_running",
            "incident_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
        ),
    )

    incident_id: uuid.UUID = child_of("incident", index=True)
    tier: str = Field(max_length=8)
    started_at: datetime = at_field()
    ended_at: datetime | None = at_field(nullable=True)
    ended_status: str | None = Field(default=None, max_length=16)
    accounts: list[dict[str, Any]] = jsonb_field(default=list)


class Partner(OrganizationRow, table=True):
    """A third party the organization works with: an agency, a KOL, a distributor, a supplier.

    `contact` is how the war room reaches them (a business contact, kept as entered).
    """

    __table_args__ = (UniqueConstraint("organization_id", "name"),)

    name: str = Field(max_length=200)
    kind: str = Field(max_length=16)
    contact: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=2000)
    active: bool = True
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class IncidentPartner(OrganizationRow, table=True):
    """Where one partner stands in one incident: to be told, told, aligned on the statement."""

    __tablename__ = "incident_partner"
    __table_args__ = (UniqueConstraint("incident_id", "partner_id"),)

    incident_id: uuid.UUID = child_of("incident")
    partner_id: uuid.UUID = child_of("partner", index=True)
    status: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=2000)
    informed_at: datetime | None = at_field(nullable=True)
    aligned_at: datetime | None = at_field(nullable=True)
    updated_by: str = Field(max_length=200)
    updated_at: datetime = at_field(default_now=True)


class EvidenceBundle(OrganizationRow, table=True):
    """Mentions kept as evidence with the facts that rebut them, for a platform or counsel."""

    __tablename__ = "evidence_bundle"

    incident_id: uuid.UUID = child_of("incident", index=True)
    title: str = Field(max_length=200)
    purpose: str = Field(max_length=16)
    debunk_facts: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    created_by: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class EvidenceItem(OrganizationRow, table=True):
    """A mention as it was when kept as evidence.

    A copy, not a reference that cascades: evidence must outlive the retention that prunes
    raw mentions, so the text, link, time and author are kept here; `mention_id` only
    names where it came from.
    """

    __tablename__ = "evidence_item"
    __table_args__ = (UniqueConstraint("bundle_id", "mention_id"),)

    bundle_id: uuid.UUID = child_of("evidence_bundle")
    mention_id: uuid.UUID
    position: int
    source: str = Field(max_length=16)
    url: str | None = Field(default=None, max_length=2000)
    text: str
    posted_at: datetime = at_field()
    author_handle: str | None = Field(default=None, max_length=200)
    screenshot_sha256: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=1000)
    added_by: str = Field(max_length=200)
    added_at: datetime = at_field(default_now=True)


class StatementTemplate(OrganizationRow, table=True):
    """An organization's own statement template for a stage and channel, one row per version.

    `crisis_type` "any" serves every crisis type without a template of its own. The newest
    version is used; older ones are kept so a published statement's wording can be traced.
    """

    __tablename__ = "statement_template"
    __table_args__ = (
        UniqueConstraint("organization_id", "stage", "channel", "crisis_type", "version"),
    )

    stage: str = Field(max_length=16)
    channel: str = Field(max_length=16)
    crisis_type: str = Field(max_length=32)
    version: int
    body: str = Field(max_length=5000)
    created_by: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)


class SituationReport(OrganizationRow, table=True):
    """A periodic situation report of an open incident: drafted by the system, sent by a person.

    `tactical` holds conditions, actions and needs (lists of lines) for the team;
    `executive` holds status, overview and next steps for leadership.
    """

    __tablename__ = "situation_report"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    incident_id: uuid.UUID = child_of("incident")
    number: int
    status: str = Field(max_length=8)
    covers_from: datetime = at_field()
    covers_until: datetime = at_field()
    tactical: dict[str, Any] = jsonb_field()
    executive: dict[str, Any] = jsonb_field()
    created_at: datetime = at_field(default_now=True)
    sent_at: datetime | None = at_field(nullable=True)
    sent_by: str | None = Field(default=None, max_length=200)


class Rota(OrganizationRow, table=True):
    """Who is on duty in one role (安排专人24小时值班): a weekly rotation of people.

    `people` take turns in order, each for a week that starts at the hand-off (`handoff_weekday`,
    0 = Monday, and `handoff_time`, in the organization's time zone); the first of them starts
    at the first hand-off on or after `starts_on`.
    """

    __table_args__ = (UniqueConstraint("organization_id", "role"),)

    role: str = Field(max_length=24)
    people: list[uuid.UUID] = uuid_array_field()
    handoff_weekday: int = Field(ge=0, le=6)
    handoff_time: time
    starts_on: date
    updated_by: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class RotaOverride(OrganizationRow, table=True):
    """Someone standing in for the rotation from `starts_at` until `ends_at` (a swap, leave)."""

    __tablename__ = "rota_override"

    rota_id: uuid.UUID = child_of("rota", index=True)
    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    starts_at: datetime = at_field()
    ends_at: datetime = at_field()
    reason: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)


class Page(OrganizationRow, table=True):
    """A person called to an incident (值班呼叫), and when they acknowledged it.

    `key` names what caused the page (the incident opening, one task's breach), so handling
    the same cause twice finds the page it already made.
    """

    __table_args__ = (UniqueConstraint("incident_id", "key"),)

    person_id: uuid.UUID = Field(foreign_key="person.id", index=True)
    incident_id: uuid.UUID = child_of("incident")
    task_id: uuid.UUID | None = Field(
        default=None, foreign_key="response_task.id", ondelete="CASCADE", index=True
    )
    role: str = Field(max_length=24)
    reason: str = Field(max_length=24)
    key: str = Field(max_length=120)
    paged_at: datetime = at_field()
    acknowledged_at: datetime | None = at_field(nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=200)
