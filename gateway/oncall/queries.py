"""Rotas, who is on call in a role, and pages."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.core.context import Info
from gateway.core.enums import TeamRole
from gateway.core.errors import GatewayError
from gateway.core.filters import equals, names, present
from gateway.core.inputs import as_utc
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.core.owned import every
from gateway.oncall.types import OnCall, Page, Rota, time_zone
from gateway.people.types import Person
from libs.contracts.enums import PageReason
from libs.database import tables
from libs.on_duty import Override, Rotation, on_duty

page = tables.Page


@strawberry.input(description="Narrow a list of pages; every given condition must hold.")
class PageFilter:
    incident_id: relay.GlobalID | None = names(page.incident_id, "Incident")
    person_id: relay.GlobalID | None = names(page.person_id, "Person")
    reason: PageReason | None = equals(page.reason)
    acknowledged: bool | None = present(
        page.acknowledged_at, "true: acknowledged pages; false: pages still waiting."
    )


# The instants `onCall(at:)` answers for.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)

PAGE_LIST = ListSpec(
    Page, PageFilter, Sorting("Sort pages.", PAGED_AT=Key.time(page.paged_at)), noun="a page list"
)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


@strawberry.type
class OnCallQuery:
    pages = PAGE_LIST.connection_field(
        "Pages sent to your organization's people, the latest first."
    )

    @strawberry.field(description="Your organization's on-call rotas, one per role.")
    async def rotas(self, info: Info) -> list[Rota]:
        rows = await every(info, tables.Rota, col(tables.Rota.role))
        return [Rota.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "Who is on duty in `role` at `at` (now when omitted): an override covering it, "
            "else the rotation's turn. Null when the role has no rota, it has not started, "
            "or the person on duty has left."
        )
    )
    async def on_call(
        self, info: Info, role: TeamRole, at: datetime | None = None
    ) -> OnCall | None:
        moment = as_utc(at) if at is not None else datetime.now(UTC)
        if not EARLIEST <= moment <= LATEST:
            # A week's arithmetic near the calendar's ends would overflow.
            raise GatewayError("`at` must fall between the years 2000 and 9000.")
        organization_id = info.context.principal.organization_id
        rota = tables.Rota
        override = tables.RotaOverride
        zone_name = await time_zone(info)
        async with info.context.sessions() as session:
            row = (
                await session.exec(
                    select(rota).where(
                        col(rota.organization_id) == organization_id,
                        col(rota.role) == role.value,
                    )
                )
            ).first()
            if row is None:
                return None
            covering = (
                await session.exec(
                    select(override).where(
                        col(override.rota_id) == row.id,
                        col(override.starts_at) <= moment,
                        col(override.ends_at) > moment,
                    )
                )
            ).all()
        rotation = Rotation(
            tuple(row.people),
            row.handoff_weekday,
            row.handoff_time,
            row.starts_on,
            _zone(zone_name),
        )
        duty = on_duty(
            rotation,
            [Override(o.person_id, o.starts_at, o.ends_at, o.created_at) for o in covering],
            moment,
        )
        if duty is None:
            return None
        person = await Person.load(info, duty.person_id)
        if person is None or person.deactivated_at is not None:
            return None
        return OnCall(
            role=role,
            person=person,
            since=duty.since,
            until=duty.until,
            overridden=duty.overridden,
            time_zone=zone_name,
        )
