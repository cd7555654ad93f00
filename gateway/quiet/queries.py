"""Own accounts and quiet periods: by id, and as lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from sqlmodel import col
from strawberry import relay

from gateway.core.enums import Source
from gateway.core.filters import at_or_after, before, equals, flag, names, present
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.quiet.types import OwnAccount, QuietPeriod
from libs.database import tables

account = tables.OwnAccount
period = tables.QuietPeriod


@strawberry.input(description="Narrow an own-account list; every given condition must hold.")
class OwnAccountFilter:
    platform: Source | None = equals(account.platform)
    active: bool | None = flag(account.active, "true: only the accounts quiet periods pause.")


OWN_ACCOUNT_ORDER = Sorting(
    "Sort own accounts.",
    CREATED_AT=Key.time(account.created_at),
    HANDLE=Key(col(account.handle), str),
)
OWN_ACCOUNT_LIST = ListSpec(
    OwnAccount, OwnAccountFilter, OWN_ACCOUNT_ORDER, noun="an own-account list"
)


@strawberry.input(description="Narrow a quiet-period list; every given condition must hold.")
class QuietPeriodFilter:
    incident_id: relay.GlobalID | None = names(period.incident_id, "Incident")
    ended: bool | None = present(period.ended_at, "true: only ended periods; false: only running.")
    since: datetime | None = at_or_after(period.started_at, "Started at or after.")
    until: datetime | None = before(period.started_at, "Started before.")


QUIET_PERIOD_ORDER = Sorting("Sort quiet periods.", STARTED_AT=Key.time(period.started_at))
QUIET_PERIOD_LIST = ListSpec(
    QuietPeriod, QuietPeriodFilter, QUIET_PERIOD_ORDER, noun="a quiet-period list"
)


@strawberry.type
class QuietQuery:
    own_accounts = OWN_ACCOUNT_LIST.connection_field(
        "Your organization's own accounts (官方账号), the newest first unless `orderBy` says "
        "otherwise."
    )
    quiet_periods = QUIET_PERIOD_LIST.connection_field(
        "Quiet periods (暂停敏感账号运营), the latest first unless `orderBy` says otherwise."
    )
