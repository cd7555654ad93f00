"""Partners and their standing in an incident, as clients read them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime

import strawberry

from gateway.core.context import Info
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted
from gateway.incidents.types import Incident
from gateway.partners.loaders import PARTNERS, STANDINGS
from libs.contracts.enums import PartnerKind, PartnerStatus

strawberry.enum(PartnerKind, description="What a third party is to your organization.")
strawberry.enum(
    PartnerStatus,
    description="Where a partner stands in an incident: to be told, told, aligned on the line.",
)


@strawberry.type(
    description=(
        "A third party your organization works with (第三方合作方): an agency, a KOL, a "
        "distributor, a supplier. During a crisis the war room tells each one and agrees the "
        "line with them, so none contradicts the organization."
    )
)
class Partner(LoadedNode):
    ROWS = PARTNERS
    CONVERTED = converted(kind=PartnerKind)

    name: str
    kind: PartnerKind
    contact: str | None = strawberry.field(description="How the war room reaches them.")
    note: str | None
    active: bool
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="Where one partner stands in one incident.")
class PartnerStanding(LoadedNode):
    ROWS = STANDINGS
    CONVERTED = converted(status=PartnerStatus)

    status: PartnerStatus
    note: str | None
    informed_at: datetime | None = strawberry.field(description="When it was first told.")
    aligned_at: datetime | None = strawberry.field(
        description="When it first agreed the line of the statement."
    )
    updated_by: str
    updated_at: datetime
    incident_id: strawberry.Private[uuid.UUID]
    partner_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The incident.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)

    @strawberry.field(description="The partner.")
    async def partner(self, info: Info) -> Partner | None:
        return await Partner.load(info, self.partner_id)
