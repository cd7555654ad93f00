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

import strawberry
from strawberry.scalars import JSON
from strawberry.types.unset import UNSET, UnsetType

from gateway.aftercare.types import AffectedUser
from gateway.core.context import Info
from gateway.core.enums import CrisisType, IncidentStatus, TeamRole, Tier
from gateway.core.execution import answered_by
from gateway.core.nodes import LoadedNode, children_of
from gateway.core.rows import FromRow, converted, optional
from gateway.incidents.loaders import (
    AFFECTED_USERS_BY_INCIDENT,
    EVENTS,
    INCIDENTS,
    KEY_FACTS_BY_INCIDENT,
    REVIEW_BY_INCIDENT,
    STATEMENTS_BY_INCIDENT,
    TASKS_BY_INCIDENT,
    TEAM_BY_INCIDENT,
    TIMELINE_BY_INCIDENT,
)
from gateway.review.types import ReviewReport
from gateway.signals.types import RiskSignal
from gateway.statements.types import Statement
from gateway.tasks.types import ResponseTask
from gateway.watchlists.types import Watchlist


@strawberry.type(description="A person holding a role on an incident's team.")
class TeamMember(FromRow):
    CONVERTED = converted(role=TeamRole)

    role: TeamRole
    person: str
    assigned_by: str
    assigned_at: datetime


@strawberry.type(description="A fact every channel's statement must carry the same way.")
class KeyFact(FromRow):
    label: str
    value: str


@strawberry.type(description="One change to an incident: what, who and when.")
class TimelineEvent(LoadedNode):
    ROWS = EVENTS
    CONVERTED = converted(data=JSON)

    kind: str
    message: str
    actor: str
    occurred_at: datetime
    data: JSON


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
    watchlist_id: strawberry.Private[uuid.UUID]
    last_signal_id: strawberry.Private[uuid.UUID | None]
    merged_into_id: strawberry.Private[uuid.UUID | None]
    recurrence_of_id: strawberry.Private[uuid.UUID | None]
    # Handed over by a page that read them for all its incidents (`incident_extras`).
    known_tasks: strawberry.Private[list[ResponseTask] | UnsetType] = UNSET

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

    @strawberry.field(description="Statements for every channel, oldest first.")
    async def statements(self, info: Info) -> list[Statement]:
        return await children_of(info, STATEMENTS_BY_INCIDENT, self.id, Statement)

    @strawberry.field(description="The facts every statement must carry (一致性原则).")
    async def key_facts(self, info: Info) -> list[KeyFact]:
        return await children_of(info, KEY_FACTS_BY_INCIDENT, self.id, KeyFact)

    @strawberry.field(description="Customers the incident harmed, masked, with their follow-ups.")
    async def affected_users(self, info: Info) -> list[AffectedUser]:
        return await children_of(info, AFFECTED_USERS_BY_INCIDENT, self.id, AffectedUser)

    @strawberry.field(description="The review report (复盘); null until the incident resolves.")
    async def review(self, info: Info) -> ReviewReport | None:
        row = await info.context.loaders.of(REVIEW_BY_INCIDENT).load(self.id)
        return ReviewReport.from_row(row) if row is not None else None

    @strawberry.field(description="The watchlist whose risk opened this incident.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        return await Watchlist.load(info, self.watchlist_id)

    @strawberry.field(
        graphql_type=list[ResponseTask], description="Response tasks in playbook order."
    )
    @answered_by("known_tasks")
    def tasks(self, info: Info) -> list[ResponseTask] | Awaitable[list[ResponseTask]]:
        # A page that preloaded the tasks answers at once; any other incident loads them.
        if not isinstance(self.known_tasks, UnsetType):
            return self.known_tasks
        return self._load_tasks(info)

    async def _load_tasks(self, info: Info) -> list[ResponseTask]:
        return await children_of(info, TASKS_BY_INCIDENT, self.id, ResponseTask)

    @strawberry.field(description="Every change to the incident, oldest first.")
    async def timeline(self, info: Info) -> list[TimelineEvent]:
        return await children_of(info, TIMELINE_BY_INCIDENT, self.id, TimelineEvent)

    @strawberry.field(description="The most recent risk signal that raised or joined it.")
    async def latest_signal(self, info: Info) -> RiskSignal | None:
        return await RiskSignal.load(info, self.last_signal_id)
