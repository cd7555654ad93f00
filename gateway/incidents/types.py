"""An incident as clients read it, with its team, facts, timeline and response; the filter of
incident lists.

The incident's tasks come with its page when the page read them for all its incidents
(`gateway.incidents.queries.incident_extras`), else load through the request's DataLoaders.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import Awaitable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET, UnsetType

from gateway.aftercare.types import AffectedUser
from gateway.core.connection import Connection
from gateway.core.context import Info
from gateway.core.enums import CrisisType, IncidentStatus, TeamRole, Tier
from gateway.core.execution import answered_by
from gateway.core.nested import page_key
from gateway.core.nodes import LoadedNode, children_of
from gateway.core.pagination import PageRequest
from gateway.core.rows import FromRow, converted, optional
from gateway.incidents.forecast import IncidentForecast, incident_forecast
from gateway.incidents.loaders import (
    AFFECTED_USER_PAGES,
    AFFECTED_USERS_BY_INCIDENT,
    EVENT_PAGES,
    EVENTS,
    INCIDENTS,
    KEY_FACTS_BY_INCIDENT,
    REVIEW_BY_INCIDENT,
    STATEMENT_PAGES,
    STATEMENTS_BY_INCIDENT,
    TASK_PAGES,
    TASKS_BY_INCIDENT,
    TEAM_BY_INCIDENT,
    TIMELINE_BY_INCIDENT,
    playbook_team,
)
from gateway.people.types import Person
from gateway.review.types import ReviewReport
from gateway.signals.types import RiskSignal
from gateway.statements.types import Statement
from gateway.tasks.types import ResponseTask
from gateway.watchlists.types import Watchlist

# Plain lists that can grow without bound give way to connections; clients have until then.
REMOVAL = "removal on 2027-06-30"


@strawberry.type(description="A person holding a role on an incident's team.")
class TeamMember(FromRow):
    CONVERTED = converted(role=TeamRole)

    role: TeamRole
    person: str
    assigned_by: str
    assigned_at: datetime
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description=(
            "The person record the assignment names (a name that is one active person's); "
            "null for a name no person record matches."
        )
    )
    async def assignee(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)


@strawberry.type(
    description=("A role the incident's playbook calls for at its current tier, and who holds it.")
)
class RequiredRole:
    role: TeamRole
    needed: int = strawberry.field(description="How many people the playbook wants in it.")
    people: list[str] = strawberry.field(description="Who holds it, in order of assignment.")

    @strawberry.field(description="Whether as many people hold it as the playbook wants.")
    def filled(self) -> bool:
        return len(self.people) >= self.needed

    @strawberry.field(description="How many more people it needs.")
    def missing(self) -> int:
        return max(0, self.needed - len(self.people))


@strawberry.type(description="A fact every channel's statement must carry the same way.")
class KeyFact(FromRow):
    label: str
    value: str


@strawberry.enum(
    description=(
        "What kind of change a timeline event records: the stored kind in capitals "
        "(`tier_changed` is TIER_CHANGED). OTHER is a kind this gateway does not know yet, "
        "recorded by a newer service; its message still says what happened."
    )
)
class TimelineEventKind(Enum):
    """Every kind the incidents service writes on a timeline, valued as it stores them.

    The incidents service spreads its kinds over the modules that record them (the
    lifecycle's `EventKind`, statements, reviews, aftercare, on-call…) and the gateway may
    not import it, so they are mirrored here; `tests/test_gateway_vocabulary.py` reads the
    service's code and fails when a kind it records is missing.
    """

    OPENED = "opened"
    SIGNAL = "signal"
    TIER_CHANGED = "tier_changed"
    STATUS_CHANGED = "status_changed"
    MERGED_IN = "merged_in"
    RECURRENCE = "recurrence"
    RISK_FELL = "risk_fell"
    MEMBER_ASSIGNED = "member_assigned"
    TASK_DONE = "task_done"
    TASK_OVERDUE = "task_overdue"
    FORECAST_DEADLINE_AT_RISK = "forecast_deadline_at_risk"
    STATEMENT_DRAFTED = "statement_drafted"
    STATEMENT_REVISED = "statement_revised"
    STATEMENT_REVIEWED = "statement_reviewed"
    STATEMENT_REJECTED = "statement_rejected"
    STATEMENT_APPROVED = "statement_approved"
    STATEMENT_LEGAL_REQUESTED = "statement_legal_requested"
    STATEMENT_PUBLISHED = "statement_published"
    KEY_FACTS_SET = "key_facts_set"
    REVIEW_DRAFTED = "review_drafted"
    REVIEW_UPDATED = "review_updated"
    REVIEW_COMPLETED = "review_completed"
    IMPROVEMENT_STATUS = "improvement_status"
    IMPROVEMENT_OVERDUE = "improvement_overdue"
    AFFECTED_USER_ADDED = "affected_user_added"
    FOLLOW_UP_CHANGED = "follow_up_changed"
    FOLLOW_UP_DONE = "follow_up_done"
    FOLLOW_UP_OVERDUE = "follow_up_overdue"
    CONTACT_REVEALED = "contact_revealed"
    PAGED = "paged"
    PAGE_ACKNOWLEDGED = "page_acknowledged"
    QUIET_PERIOD_STARTED = "quiet_period_started"
    QUIET_PERIOD_ENDED = "quiet_period_ended"
    PARTNER_STATUS = "partner_status"
    EVIDENCE_BUNDLE = "evidence_bundle"
    REPLY_FILED = "reply_filed"
    SITUATION_REPORT_DRAFTED = "situation_report_drafted"
    SITUATION_REPORT_SENT = "situation_report_sent"
    OTHER = "other"

    @classmethod
    def of(cls, stored: str) -> "TimelineEventKind":
        """Read a stored kind; one this gateway does not know is OTHER, never an error, so
        a service that starts recording a new kind cannot break a timeline's reads."""
        try:
            return cls(stored)
        except ValueError:
            return cls.OTHER


@strawberry.type(description="One change to an incident: what, who and when.")
class TimelineEvent(LoadedNode):
    ROWS = EVENTS
    CONVERTED = converted(data=JSON)

    kind: str = strawberry.field(
        description="What kind of change, as stored: `opened`, `tier_changed`, `task_done`…",
        deprecation_reason=f"Use `eventKind`; {REMOVAL}.",
    )
    message: str
    actor: str = strawberry.field(description="The key that made the change, or `system`.")
    occurred_at: datetime
    data: JSON
    person_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description=(
            "What kind of change: OPENED, TIER_CHANGED, STATUS_CHANGED, TASK_DONE…; OTHER for "
            "a kind this gateway does not know yet."
        )
    )
    def event_kind(self) -> TimelineEventKind:
        return TimelineEventKind.of(self.kind)

    @strawberry.field(
        description="The person who made the change; null for a service account or the system."
    )
    async def person(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)


@strawberry.type(description="A crisis being handled, from detection to review.")
class Incident(LoadedNode):
    ROWS = INCIDENTS
    CONVERTED = converted(tier=Tier, status=IncidentStatus, crisis_type=optional(CrisisType))

    title: str
    tier: Tier
    status: IncidentStatus
    detected_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    crisis_type: CrisisType | None
    status_reason: str | None = strawberry.field(
        description="Why the incident last changed status, as the responder wrote it."
    )
    resolved_at: datetime | None
    closed_at: datetime | None
    reopened_count: int
    drill: bool = strawberry.field(
        description="true: a drill's incident (演练), played on purpose; not a real crisis."
    )
    watchlist_id: strawberry.Private[uuid.UUID]
    last_signal_id: strawberry.Private[uuid.UUID | None]
    merged_into_id: strawberry.Private[uuid.UUID | None]
    recurrence_of_id: strawberry.Private[uuid.UUID | None]
    # Handed over by a page that read them for all its incidents (`incident_extras`): the
    # tasks, and the first pages of `tasksConnection` it was asked for.
    known_tasks: strawberry.Private[list[ResponseTask] | UnsetType] = UNSET
    known_task_pages: strawberry.Private[
        dict[PageRequest, Connection[ResponseTask]] | UnsetType
    ] = UNSET

    @strawberry.field(description="The incident this one was merged into; null unless merged.")
    async def merged_into(self, info: Info) -> "Incident | None":
        return await Incident.load(info, self.merged_into_id)

    @strawberry.field(
        description="An earlier, similar incident this one repeats (same watchlist or story)."
    )
    async def recurrence_of(self, info: Info) -> "Incident | None":
        return await Incident.load(info, self.recurrence_of_id)

    @strawberry.field(description="Who holds which role on the team, in order of assignment.")
    async def team(self, info: Info) -> list[TeamMember]:
        return await children_of(info, TEAM_BY_INCIDENT, self.id, TeamMember)

    @strawberry.field(
        description=(
            "The team the playbook of the incident's tier (and crisis type) calls for, "
            "role by role, filled or not; raising the tier shows the bigger team at once. "
            "Roles assigned beyond the playbook are on `team`."
        )
    )
    async def required_roles(self, info: Info) -> list[RequiredRole]:
        crisis_type = self.crisis_type.value if self.crisis_type else None
        needed = await playbook_team(info, self.tier, crisis_type)
        members = await info.context.loaders.of(TEAM_BY_INCIDENT).load(self.id)
        return [
            RequiredRole(
                role=role,
                needed=count,
                people=[member.person for member in members if member.role == role.value],
            )
            for role, count in needed
        ]

    @strawberry.field(
        description="Statements for every channel, oldest first.",
        deprecation_reason=f"Use statementsConnection; {REMOVAL}",
    )
    async def statements(self, info: Info) -> list[Statement]:
        return await children_of(info, STATEMENTS_BY_INCIDENT, self.id, Statement)

    @strawberry.field(description="Statements for every channel, oldest first, page by page.")
    async def statements_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Statement]:
        return await STATEMENT_PAGES.connection(
            info, self.id, Statement.from_row, first, after, last, before
        )

    @strawberry.field(description="The facts every statement must carry (一致性原则).")
    async def key_facts(self, info: Info) -> list[KeyFact]:
        return await children_of(info, KEY_FACTS_BY_INCIDENT, self.id, KeyFact)

    @strawberry.field(
        description="Customers the incident harmed, masked, with their follow-ups.",
        deprecation_reason=f"Use affectedUsersConnection; {REMOVAL}",
    )
    async def affected_users(self, info: Info) -> list[AffectedUser]:
        return await children_of(info, AFFECTED_USERS_BY_INCIDENT, self.id, AffectedUser)

    @strawberry.field(
        description=(
            "Customers the incident harmed, masked, with their follow-ups; in the order they "
            "were added, page by page."
        )
    )
    async def affected_users_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AffectedUser]:
        return await AFFECTED_USER_PAGES.connection(
            info, self.id, AffectedUser.from_row, first, after, last, before
        )

    @strawberry.field(description="The review report (复盘); null until the incident resolves.")
    async def review(self, info: Info) -> ReviewReport | None:
        row = await info.context.loaders.of(REVIEW_BY_INCIDENT).load(self.id)
        return ReviewReport.from_row(row) if row is not None else None

    @strawberry.field(description="The watchlist whose risk opened this incident.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        return await Watchlist.load(info, self.watchlist_id)

    @strawberry.field(
        graphql_type=list[ResponseTask],
        description="Response tasks in playbook order.",
        deprecation_reason=f"Use tasksConnection; {REMOVAL}",
    )
    @answered_by("known_tasks")
    def tasks(self, info: Info) -> list[ResponseTask] | Awaitable[list[ResponseTask]]:
        # A page that preloaded the tasks answers at once; any other incident loads them.
        if not isinstance(self.known_tasks, UnsetType):
            return self.known_tasks
        return self._load_tasks(info)

    async def _load_tasks(self, info: Info) -> list[ResponseTask]:
        return await children_of(info, TASKS_BY_INCIDENT, self.id, ResponseTask)

    @strawberry.field(description="Response tasks in playbook order, page by page.")
    @answered_by("known_task_pages", key=page_key)
    async def tasks_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[ResponseTask]:
        if not isinstance(self.known_task_pages, UnsetType):
            known = self.known_task_pages.get(PageRequest.of(first, after, last, before))
            if known is not None:
                return known
        return await TASK_PAGES.connection(
            info, self.id, ResponseTask.from_row, first, after, last, before
        )

    @strawberry.field(
        description="Every change to the incident, oldest first.",
        deprecation_reason=f"Use timelineConnection; {REMOVAL}",
    )
    async def timeline(self, info: Info) -> list[TimelineEvent]:
        return await children_of(info, TIMELINE_BY_INCIDENT, self.id, TimelineEvent)

    @strawberry.field(
        description=(
            "Every change to the incident, oldest first, page by page: `last: 20` for the "
            "newest twenty."
        )
    )
    async def timeline_connection(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[TimelineEvent]:
        return await EVENT_PAGES.connection(
            info, self.id, TimelineEvent.from_row, first, after, last, before
        )

    @strawberry.field(
        description=(
            "Where the incident is heading at its current pace (tier and reach in 1 h and "
            "4 h, next tier, peak, deadlines at risk); null once it is closed."
        )
    )
    async def forecast(self, info: Info) -> IncidentForecast | None:
        return await incident_forecast(info, self.id)

    @strawberry.field(description="The most recent risk signal that raised or joined it.")
    async def latest_signal(self, info: Info) -> RiskSignal | None:
        return await RiskSignal.load(info, self.last_signal_id)
