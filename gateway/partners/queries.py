"""Partners and their standings as lists."""

import strawberry
from sqlmodel import col
from strawberry import relay

from gateway.core.filters import equals, flag, names
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.partners.types import Partner, PartnerStanding
from libs.contracts.enums import PartnerKind, PartnerStatus
from libs.database import tables

partner = tables.Partner
standing = tables.IncidentPartner


@strawberry.input(description="Narrow a partner list; every given condition must hold.")
class PartnerFilter:
    kind: PartnerKind | None = equals(partner.kind)
    active: bool | None = flag(partner.active, "true: only partners not retired.")


PARTNER_ORDER = Sorting(
    "Sort partners.", CREATED_AT=Key.time(partner.created_at), NAME=Key(col(partner.name), str)
)
PARTNER_LIST = ListSpec(Partner, PartnerFilter, PARTNER_ORDER, noun="a partner list")


@strawberry.input(description="Narrow a list of standings; every given condition must hold.")
class PartnerStandingFilter:
    incident_id: relay.GlobalID | None = names(standing.incident_id, "Incident")
    partner_id: relay.GlobalID | None = names(standing.partner_id, "Partner")
    status: PartnerStatus | None = equals(standing.status)


STANDING_ORDER = Sorting("Sort standings.", UPDATED_AT=Key.time(standing.updated_at))
STANDING_LIST = ListSpec(
    PartnerStanding, PartnerStandingFilter, STANDING_ORDER, noun="a list of partner standings"
)


@strawberry.type
class PartnerQuery:
    partners = PARTNER_LIST.connection_field(
        "Your organization's partners, the newest first unless `orderBy` says otherwise."
    )
    partner_standings = STANDING_LIST.connection_field(
        "Where partners stand in incidents (to be told, told, aligned), the latest change first."
    )
