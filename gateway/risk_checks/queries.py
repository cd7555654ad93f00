"""A risk check by id and the list of checks, the newest first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.filters import at_or_after, before
from gateway.core.inputs import local_id
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.risk_checks.types import RiskCheck
from libs.database import tables

check = tables.RiskCheck


@strawberry.input(description="Narrow a risk-check list; every given condition must hold.")
class RiskCheckFilter:
    checked_since: datetime | None = at_or_after(check.checked_at, "Checked at or after.")
    checked_until: datetime | None = before(check.checked_at, "Checked before.")


RISK_CHECK_ORDER = Sorting(
    "Sort risk checks.",
    CHECKED_AT=Key.time(check.checked_at),
)
RISK_CHECK_LIST = ListSpec(RiskCheck, RiskCheckFilter, RISK_CHECK_ORDER)


@strawberry.type
class RiskCheckQuery:
    @strawberry.field(
        description="One daily risk check by its global id; null if not in your organization."
    )
    async def risk_check(self, info: Info, id: relay.GlobalID) -> RiskCheck | None:
        return await RiskCheck.load(info, local_id(id, "RiskCheck"))

    risk_checks = RISK_CHECK_LIST.connection_field(
        "Daily risk checks (定期风险排查) of your organization, the newest first unless "
        "`orderBy` says otherwise."
    )
