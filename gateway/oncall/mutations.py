"""Rota changes and page acknowledgements: commands to the incidents service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import date, datetime, time
from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, created, perform, reread
from gateway.core.context import Info
from gateway.core.enums import TeamRole
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import require_id
from gateway.oncall.types import Page, Rota, RotaOverride
from libs.contracts.response import AcknowledgePage, SetRota, SetRotaOverride
from libs.database import tables

SetRotaResult = Annotated[
    Rota | InvalidInput | NotFound | Forbidden, or_why_not("SetRotaResult", "The rota")
]
SetRotaOverrideResult = Annotated[
    RotaOverride | InvalidInput | NotFound | Forbidden,
    or_why_not("SetRotaOverrideResult", "The override"),
]
AcknowledgePageResult = Annotated[
    Page | InvalidInput | NotFound | Forbidden,
    or_why_not("AcknowledgePageResult", "The acknowledged page"),
]


@strawberry.input(description="Who takes turns on duty in a role, and when they hand off.")
class SetRotaInput:
    role: TeamRole
    people: list[relay.GlobalID] = strawberry.field(
        description="Person ids in turn order; each is on duty for a week."
    )
    handoff_weekday: int = strawberry.field(description="0 is Monday, 6 Sunday.")
    handoff_time: time = strawberry.field(
        description="Local time of the hand-off in your organization's time zone."
    )
    starts_on: date | None = strawberry.field(
        default=None,
        description=(
            "The first person takes the first hand-off on or after this day; omitted: the "
            "last hand-off day before today for a new rota (covered at once), unchanged for "
            "an existing one."
        ),
    )


@strawberry.input(description="Someone on duty in a role instead of the rotation, for a while.")
class SetRotaOverrideInput:
    role: TeamRole
    person_id: relay.GlobalID
    starts_at: datetime
    ends_at: datetime
    reason: str | None = None


@strawberry.input(description="The page to acknowledge.")
class AcknowledgePageInput:
    id: relay.GlobalID


PAGE = Target(tables.Page, "Page", "page", "page_id")
ACKNOWLEDGE = Change(
    PAGE, reread(tables.Page, Page.from_row, "Page"), accept=(InvalidInput, NotFound)
)


@strawberry.type
class OnCallMutation:
    @strawberry.mutation(
        description=(
            "Set who takes turns on duty in a role, week by week, and when they hand off "
            "(replacing the role's rota; its overrides stay). Admin keys only."
        )
    )
    async def set_rota(self, info: Info, input: SetRotaInput) -> SetRotaResult:
        answer = await perform(
            info,
            SetRota,
            created(tables.Rota, Rota.from_row, "Rota"),
            manage="change on-call rotas",
            accept=(InvalidInput, NotFound),
            role=input.role,
            people=[require_id(person, "Person", "people") for person in input.people],
            handoff_weekday=input.handoff_weekday,
            handoff_time=input.handoff_time,
            starts_on=input.starts_on,
        )
        return cast(Rota | InvalidInput | NotFound | Forbidden, answer)

    @strawberry.mutation(
        description=(
            "Put someone on duty in a role instead of the rotation from `startsAt` until "
            "`endsAt` (a swap, leave); the latest override covering an instant wins."
        )
    )
    async def set_rota_override(
        self, info: Info, input: SetRotaOverrideInput
    ) -> SetRotaOverrideResult:
        answer = await perform(
            info,
            SetRotaOverride,
            created(tables.RotaOverride, RotaOverride.from_row, "RotaOverride"),
            accept=(InvalidInput, NotFound),
            role=input.role,
            person_id=require_id(input.person_id, "Person", "personId"),
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            reason=input.reason,
        )
        return cast(RotaOverride | InvalidInput | NotFound | Forbidden, answer)

    @strawberry.mutation(
        description=(
            "Acknowledge a page: its person took it. A key acting for a person may only "
            "acknowledge that person's pages; acknowledging again changes nothing."
        )
    )
    async def acknowledge_page(
        self, info: Info, input: AcknowledgePageInput
    ) -> AcknowledgePageResult:
        answer = await ACKNOWLEDGE(info, input.id, AcknowledgePage)
        return cast(Page | InvalidInput | NotFound | Forbidden, answer)
