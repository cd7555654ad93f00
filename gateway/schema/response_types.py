"""What a war room reads about its response: team, statements, facts, affected users, review.

Each object is built from one row the incidents service wrote. Affected users expose only
the masked name and contact the service stored beside the ciphertext; the ciphertext is
never even loaded.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Self

import strawberry
from strawberry import relay
from strawberry.scalars import JSON

from gateway.context import Info
from gateway.schema.enums import (
    Channel,
    ContactKind,
    CrisisType,
    FollowUpKind,
    ReviewDecision,
    ReviewStage,
    StatementStatus,
    TaskStatus,
    TeamRole,
    Tier,
)
from gateway.schema.nodes import LoadedNode
from libs.database import tables

if TYPE_CHECKING:
    from gateway.schema.types import Incident

# How a playbook for any crisis type is stored in `playbook.crisis_type`.
ANY_CRISIS_TYPE = "*"

IncidentRef = Annotated["Incident", strawberry.lazy("gateway.schema.types")]


async def load_incident(info: Info, incident_id: uuid.UUID) -> "IncidentRef | None":
    """Load the incident a response object belongs to, through the request's loader."""
    # Imported here: the incident type itself imports this module for its nested fields.
    from gateway.schema.types import Incident

    row = await info.context.loaders.incidents.load(incident_id)
    return Incident.from_row(row) if row is not None else None


@strawberry.type(description="A person holding a role on an incident's team.")
class TeamMember:
    role: TeamRole
    person: str
    assigned_by: str
    assigned_at: datetime

    @classmethod
    def from_row(cls, row: tables.IncidentMember) -> Self:
        """Build from an incident_member row."""
        return cls(
            role=TeamRole(row.role),
            person=row.person,
            assigned_by=row.assigned_by,
            assigned_at=row.assigned_at,
        )


@strawberry.type(description="One review decision on a statement, kept for the record.")
class StatementReview:
    stage: ReviewStage
    decision: ReviewDecision
    reviewer: str
    note: str | None
    reviewed_at: datetime

    @classmethod
    def from_row(cls, row: tables.StatementReview) -> Self:
        """Build from a statement_review row."""
        return cls(
            stage=ReviewStage(row.stage),
            decision=ReviewDecision(row.decision),
            reviewer=row.reviewer,
            note=row.note,
            reviewed_at=row.reviewed_at,
        )


@strawberry.type(
    description=(
        "A public statement for one channel, from draft through three-level review "
        "(三级审核, plus legal for red incidents) to publication."
    )
)
class Statement(LoadedNode):
    LOADER: ClassVar[str] = "response.statements"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    channel: Channel
    body: str
    status: StatementStatus
    review_level: int = strawberry.field(
        description="The highest review level approved in order, 0 to 3."
    )
    legal_approved: bool
    flags: JSON = strawberry.field(
        description=(
            "Unresolved consistency flags: key facts this channel's statement omits or "
            "contradicts (一致性原则); publication is refused while any remain."
        )
    )
    published_url: str | None
    published_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    incident_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: tables.Statement) -> Self:
        """Build from a statement row."""
        return cls(
            id=row.id,
            database_id=row.id,
            channel=Channel(row.channel),
            body=row.body,
            status=StatementStatus(row.status),
            review_level=row.review_level,
            legal_approved=row.legal_approved,
            flags=JSON(list(row.flags)),
            published_url=row.published_url,
            published_at=row.published_at,
            created_by=row.created_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            incident_id=row.incident_id,
        )

    @strawberry.field(description="Every review decision, oldest first.")
    async def reviews(self, info: Info) -> list[StatementReview]:
        rows = await info.context.loaders.response.reviews_by_statement.load(self.id)
        return [StatementReview.from_row(row) for row in rows]

    @strawberry.field(description="The incident the statement answers.")
    async def incident(self, info: Info) -> IncidentRef | None:
        return await load_incident(info, self.incident_id)


@strawberry.type(description="A fact every channel's statement must carry the same way.")
class KeyFact:
    label: str
    value: str

    @classmethod
    def from_row(cls, row: tables.KeyFact) -> Self:
        """Build from a key_fact row."""
        return cls(label=row.label, value=row.value)


@strawberry.type(description="A follow-up visit or a compensation owed to an affected user.")
class FollowUp:
    database_id: uuid.UUID
    kind: FollowUpKind
    status: TaskStatus
    due_at: datetime | None
    amount: float | None
    note: str | None
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: tables.FollowUpTask) -> Self:
        """Build from a follow_up_task row."""
        return cls(
            database_id=row.id,
            kind=FollowUpKind(row.kind),
            status=TaskStatus(row.status),
            due_at=row.due_at,
            amount=row.amount,
            note=row.note,
            completed_at=row.completed_at,
        )


@strawberry.type(
    description=(
        "A customer the incident harmed. Only masked data is ever shown; the contact is stored "
        "encrypted and no API returns it in clear."
    )
)
class AffectedUser:
    database_id: uuid.UUID
    name_masked: str = strawberry.field(description="The surname only, e.g. `张*`, `欧阳**`.")
    contact_kind: ContactKind
    contact_masked: str = strawberry.field(
        description="E.g. `138****5678`, `z***@example.com`, `110101********1234`."
    )
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.AffectedUser) -> Self:
        """Build from an affected_user row, reading only its masked columns."""
        return cls(
            database_id=row.id,
            name_masked=row.name_masked,
            contact_kind=ContactKind(row.contact_kind),
            contact_masked=row.contact_masked,
            created_by=row.created_by,
            created_at=row.created_at,
        )

    @strawberry.field(description="Follow-up visits and compensations, earliest due first.")
    async def follow_ups(self, info: Info) -> list[FollowUp]:
        rows = await info.context.loaders.response.follow_ups_by_user.load(self.database_id)
        return [FollowUp.from_row(row) for row in rows]


@strawberry.type(description="An improvement a review committed to.")
class ImprovementAction:
    database_id: uuid.UUID
    action: str
    owner: str
    status: str = strawberry.field(
        description="`open`, `done`, or `reopened` when a similar incident recurred."
    )
    due_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.ImprovementAction) -> Self:
        """Build from an improvement_action row."""
        return cls(
            database_id=row.id,
            action=row.action,
            owner=row.owner,
            status=row.status,
            due_at=row.due_at,
            created_at=row.created_at,
        )


@strawberry.type(
    description=(
        "The post-incident review (复盘): sections computed when the incident was resolved, "
        "and the root cause and improvements people wrote."
    )
)
class ReviewReport(LoadedNode):
    LOADER: ClassVar[str] = "response.reviews"

    id: relay.NodeID[uuid.UUID]
    database_id: uuid.UUID
    status: str = strawberry.field(description="`draft` until completed, then `completed`.")
    sections: JSON = strawberry.field(
        description=(
            "The computed sections: each stage's timing against its deadline, volume and "
            "sentiment before, during and after, channels, tasks done and missed, follow-ups."
        )
    )
    root_cause: str | None
    completed_at: datetime | None
    completed_by: str | None
    created_at: datetime
    updated_at: datetime
    incident_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: tables.ReviewReport) -> Self:
        """Build from a review_report row."""
        return cls(
            id=row.id,
            database_id=row.id,
            status=row.status,
            sections=JSON(dict(row.sections)),
            root_cause=row.root_cause,
            completed_at=row.completed_at,
            completed_by=row.completed_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            incident_id=row.incident_id,
        )

    @strawberry.field(description="Improvement actions, in the order they were written.")
    async def improvements(self, info: Info) -> list[ImprovementAction]:
        rows = await info.context.loaders.response.improvements_by_incident.load(self.incident_id)
        return [ImprovementAction.from_row(row) for row in rows]

    @strawberry.field(description="The incident under review.")
    async def incident(self, info: Info) -> IncidentRef | None:
        return await load_incident(info, self.incident_id)


@strawberry.type(description="A role a playbook puts on the team, and how many people fill it.")
class PlaybookTeamSlot:
    role: TeamRole
    count: int


@strawberry.type(description="A task a playbook adds, due a number of minutes after detection.")
class PlaybookTask:
    kind: str
    title: str
    due_after_minutes: int
    role: TeamRole
    channel: Channel | None


@strawberry.type(
    description=(
        "Your organization's response for a tier (and optionally one crisis type). Tiers "
        "without one use the built-in playbook."
    )
)
class Playbook:
    database_id: uuid.UUID
    tier: Tier
    crisis_type: CrisisType | None = strawberry.field(description="Null: any crisis type.")
    team: list[PlaybookTeamSlot]
    tasks: list[PlaybookTask]
    updated_at: datetime

    @classmethod
    def from_row(cls, row: tables.Playbook) -> Self:
        """Build from a playbook row."""
        return cls(
            database_id=row.id,
            tier=Tier(row.tier),
            crisis_type=None if row.crisis_type == ANY_CRISIS_TYPE else CrisisType(row.crisis_type),
            team=[_slot(slot) for slot in row.team],
            tasks=[_task(task) for task in row.tasks],
            updated_at=row.updated_at,
        )


def _slot(slot: dict[str, Any]) -> PlaybookTeamSlot:
    return PlaybookTeamSlot(role=TeamRole(slot["role"]), count=int(slot["count"]))


def _task(task: dict[str, Any]) -> PlaybookTask:
    channel = task.get("channel")
    return PlaybookTask(
        kind=str(task["kind"]),
        title=str(task["title"]),
        due_after_minutes=int(task["due_after_minutes"]),
        role=TeamRole(task["role"]),
        channel=Channel(channel) if channel else None,
    )


@strawberry.type(description="A case filed in the reply library (问答库).")
class ReplyCase:
    database_id: uuid.UUID
    category: str
    text: str
    reply: str
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.ReplyCase) -> Self:
        """Build from a reply_case row."""
        return cls(
            database_id=row.id,
            category=row.category,
            text=row.text,
            reply=row.reply,
            created_by=row.created_by,
            created_at=row.created_at,
        )


@strawberry.type(description="A watchlist silenced until a time: its signals open no incident.")
class WatchlistSnooze:
    database_id: uuid.UUID
    until: datetime
    reason: str
    actor: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: tables.WatchlistSnooze) -> Self:
        """Build from a watchlist_snooze row."""
        return cls(
            database_id=row.id,
            until=row.until,
            reason=row.reason,
            actor=row.actor,
            created_at=row.created_at,
        )
