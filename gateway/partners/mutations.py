"""Partner changes and their standing in an incident: commands to the incidents service."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, created, perform, reread
from gateway.core.context import Info
from gateway.core.errors import Conflict, Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import input_fields, require_id
from gateway.partners.types import Partner, PartnerStanding
from libs.contracts.enums import PartnerKind, PartnerStatus
from libs.contracts.response import AddPartner, SetPartnerStatus, UpdatePartner
from libs.database import tables

AddPartnerResult = Annotated[
    Partner | InvalidInput | Conflict | Forbidden,
    or_why_not("AddPartnerResult", "The registered partner"),
]
UpdatePartnerResult = Annotated[
    Partner | InvalidInput | NotFound | Forbidden,
    or_why_not("UpdatePartnerResult", "The changed partner"),
]
SetPartnerStatusResult = Annotated[
    PartnerStanding | InvalidInput | NotFound | Forbidden,
    or_why_not("SetPartnerStatusResult", "The partner's standing in the incident"),
]


@strawberry.input(description="A third party your organization works with.")
class AddPartnerInput:
    name: str = strawberry.field(description="Unique in your organization.")
    kind: PartnerKind
    contact: str | None = None
    note: str | None = None


@strawberry.input(description="Changes to a partner; an omitted field stays as it is.")
class UpdatePartnerInput:
    id: relay.GlobalID
    contact: str | None = None
    note: str | None = None
    active: bool | None = strawberry.field(default=None, description="false: retired.")


@strawberry.input(description="Where a partner stands in an incident now.")
class SetPartnerStatusInput:
    incident_id: relay.GlobalID
    partner_id: relay.GlobalID
    status: PartnerStatus
    note: str | None = None


PARTNER = Target(tables.Partner, "Partner", "partner", "partner_id")
UPDATE = Change(
    PARTNER, reread(tables.Partner, Partner.from_row, "Partner"), accept=(InvalidInput, NotFound)
)


@strawberry.type
class PartnerMutation:
    @strawberry.mutation(
        description="Register a partner; a name already used answers Conflict on `name`."
    )
    async def add_partner(self, info: Info, input: AddPartnerInput) -> AddPartnerResult:
        answer = await perform(
            info,
            AddPartner,
            created(tables.Partner, Partner.from_row, "Partner"),
            accept=(InvalidInput, Conflict),
            **input_fields(input),
        )
        return cast(Partner | InvalidInput | Conflict | Forbidden, answer)

    @strawberry.mutation(description="Change a partner's contact or note, or retire it.")
    async def update_partner(self, info: Info, input: UpdatePartnerInput) -> UpdatePartnerResult:
        answer = await UPDATE(info, input.id, UpdatePartner, **input_fields(input, but=("id",)))
        return cast(Partner | InvalidInput | NotFound | Forbidden, answer)

    @strawberry.mutation(
        description=(
            "Record where a partner stands in an incident (told, aligned on the statement); "
            "the change goes on the incident's timeline."
        )
    )
    async def set_partner_status(
        self, info: Info, input: SetPartnerStatusInput
    ) -> SetPartnerStatusResult:
        answer = await perform(
            info,
            SetPartnerStatus,
            created(tables.IncidentPartner, PartnerStanding.from_row, "PartnerStanding"),
            accept=(InvalidInput, NotFound),
            incident_id=require_id(input.incident_id, "Incident", "incidentId"),
            partner_id=require_id(input.partner_id, "Partner", "partnerId"),
            status=input.status,
            note=input.note,
        )
        return cast(PartnerStanding | InvalidInput | NotFound | Forbidden, answer)
