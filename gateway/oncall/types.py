"""Rotas, overrides, who is on call and pages, as clients read them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import UTC, date, datetime, time
from typing import Any, Self

import strawberry
from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.enums import TeamRole
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted
from gateway.incidents.types import Incident
from gateway.oncall.loaders import OVERRIDES, PAGES, ROTAS
from gateway.people.types import Person
from libs.contracts.enums import PageReason
from libs.database import tables

strawberry.enum(
    PageReason,
    description="Why a person was paged: a new incident, or a task escalated to their role.",
)


async def time_zone(info: Info) -> str:
    """Return the caller's organization's time zone, where hand-offs happen."""
    query = select(tables.Organization.time_zone).where(
        col(tables.Organization.id) == info.context.principal.organization_id
    )
    async with info.context.sessions() as session:
        return (await session.exec(query)).one()


@strawberry.type(description="Someone on duty in a role instead of the rotation, for a while.")
class RotaOverride(LoadedNode):
    ROWS = OVERRIDES

    starts_at: datetime
    ends_at: datetime = strawberry.field(description="The rotation takes over again then.")
    reason: str | None
    created_by: str
    created_at: datetime
    person_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who is on duty meanwhile.")
    async def person(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)


@strawberry.type(
    description=(
        "Who is on duty in one role (安排专人24小时值班): people take turns week by week, "
        "handing off at `handoffWeekday` and `handoffTime` in your organization's time zone; "
        "the first takes the first hand-off on or after `startsOn`."
    )
)
class Rota(LoadedNode):
    ROWS = ROTAS
    CONVERTED = converted(role=TeamRole)

    role: TeamRole
    handoff_weekday: int = strawberry.field(description="0 is Monday, 6 Sunday.")
    handoff_time: time = strawberry.field(description="Local time of the hand-off.")
    starts_on: date
    updated_by: str
    created_at: datetime
    updated_at: datetime
    person_ids: strawberry.Private[list[uuid.UUID]]

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """Build a rota from its row."""
        return cls(
            id=row.id,
            database_id=row.id,
            role=TeamRole(row.role),
            handoff_weekday=row.handoff_weekday,
            handoff_time=row.handoff_time,
            starts_on=row.starts_on,
            updated_by=row.updated_by,
            created_at=row.created_at,
            updated_at=row.updated_at,
            person_ids=list(row.people),
        )

    @strawberry.field(description="The people taking turns, in order.")
    async def people(self, info: Info) -> list[Person]:
        return await Person.load_many(info, self.person_ids)

    @strawberry.field(description="Your organization's time zone (IANA), where hand-offs happen.")
    async def time_zone(self, info: Info) -> str:
        return await time_zone(info)

    @strawberry.field(description="Overrides not yet over, the earliest first.")
    async def overrides(self, info: Info) -> list[RotaOverride]:
        override = tables.RotaOverride
        query = (
            select(override)
            .where(
                col(override.rota_id) == self.database_id,
                col(override.organization_id) == info.context.principal.organization_id,
                col(override.ends_at) > datetime.now(UTC),
            )
            .order_by(col(override.starts_at), col(override.created_at))
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(query)).all()
        return [RotaOverride.from_row(row) for row in rows]


@strawberry.type(description="Who is on duty in a role at an instant, and their shift.")
class OnCall:
    role: TeamRole
    person: Person
    since: datetime = strawberry.field(description="When the shift (or override) began.")
    until: datetime = strawberry.field(description="When the next person takes over.")
    overridden: bool = strawberry.field(description="true: an override, not the rotation.")
    time_zone: str


@strawberry.type(
    description=(
        "A person called to an incident (值班呼叫): the monitor on duty when it opened, or "
        "the person on duty in the role an overdue task escalated to. It waits for them to "
        "acknowledge it."
    )
)
class Page(LoadedNode):
    ROWS = PAGES
    CONVERTED = converted(role=TeamRole, reason=PageReason)

    role: TeamRole
    reason: PageReason
    paged_at: datetime
    acknowledged_at: datetime | None = strawberry.field(description="Null until acknowledged.")
    acknowledged_by: str | None
    task_id: uuid.UUID | None = strawberry.field(
        description="The overdue task, for a `TASK_OVERDUE` page."
    )
    person_id: strawberry.Private[uuid.UUID]
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Who was paged.")
    async def person(self, info: Info) -> Person | None:
        return await Person.load(info, self.person_id)

    @strawberry.field(description="The incident they were paged to.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)
