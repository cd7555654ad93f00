"""Own accounts and quiet periods as clients read them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any

import strawberry

from gateway.core.context import Info
from gateway.core.enums import IncidentStatus, Source, Tier
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted, optional
from gateway.incidents.types import Incident
from gateway.quiet.loaders import OWN_ACCOUNTS, QUIET_PERIODS
from gateway.tasks.types import ResponseTask
from libs.contracts.events import QuietAccount


@strawberry.type(
    description=(
        "One of your organization's own accounts (官方账号). While an incident is fought at "
        "orange or above, a quiet period pauses its scheduled and marketing posts."
    )
)
class OwnAccount(LoadedNode):
    ROWS = OWN_ACCOUNTS
    CONVERTED = converted(platform=Source)

    platform: Source
    handle: str = strawberry.field(description="The handle, without the leading @.")
    owner: str | None = strawberry.field(description="Who runs it: the pause task names them.")
    active: bool = strawberry.field(description="Whether quiet periods pause it.")
    created_at: datetime
    updated_at: datetime


@strawberry.type(description="An account a quiet period paused, as its start event named it.")
class QuietPeriodAccount:
    platform: Source
    handle: str
    owner: str | None
    account_id: strawberry.Private[uuid.UUID]
    pause_task_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(description="The account as it is now; null once removed.")
    async def account(self, info: Info) -> OwnAccount | None:
        return await OwnAccount.load(info, self.account_id)

    @strawberry.field(description="The task to confirm its posts are held.")
    async def pause_task(self, info: Info) -> ResponseTask | None:
        return await ResponseTask.load(info, self.pause_task_id)


@strawberry.type(
    description=(
        "A quiet period (暂停敏感账号运营): from an incident reaching orange or above until it "
        "recovers (or is resolved, closed, merged or called a false alarm)."
    )
)
class QuietPeriod(LoadedNode):
    ROWS = QUIET_PERIODS
    CONVERTED = converted(tier=Tier, ended_status=optional(IncidentStatus))

    tier: Tier = strawberry.field(description="The incident's tier when it started.")
    started_at: datetime
    ended_at: datetime | None = strawberry.field(description="Null while it runs.")
    ended_status: IncidentStatus | None = strawberry.field(
        description="The incident's status that ended it."
    )
    incident_id: strawberry.Private[uuid.UUID]
    accounts: strawberry.Private[list[dict[str, Any]]]

    @strawberry.field(description="The incident it keeps the accounts quiet for.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)

    @strawberry.field(name="accounts", description="The accounts it paused, in order.")
    def paused_accounts(self) -> list[QuietPeriodAccount]:
        told = [QuietAccount.model_validate(a) for a in self.accounts]
        return [
            QuietPeriodAccount(
                platform=Source(a.platform),
                handle=a.handle,
                owner=a.owner,
                account_id=a.account_id,
                pause_task_id=a.pause_task_id,
            )
            for a in told
        ]
