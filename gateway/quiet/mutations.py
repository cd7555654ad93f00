"""Registering own accounts: the incidents service keeps them for its quiet periods."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, created, perform, reread
from gateway.core.context import Info
from gateway.core.enums import Source
from gateway.core.errors import Conflict, Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import input_fields
from gateway.quiet.types import OwnAccount
from libs.contracts.response import AddOwnAccount, UpdateOwnAccount
from libs.database import tables

AddOwnAccountResult = Annotated[
    OwnAccount | InvalidInput | Conflict | Forbidden,
    or_why_not("AddOwnAccountResult", "The registered account"),
]
UpdateOwnAccountResult = Annotated[
    OwnAccount | InvalidInput | NotFound | Forbidden,
    or_why_not("UpdateOwnAccountResult", "The changed account"),
]


@strawberry.input(description="One of your organization's own accounts, for quiet periods.")
class AddOwnAccountInput:
    platform: Source
    handle: str = strawberry.field(description="As shown on the platform; a leading @ is dropped.")
    owner: str | None = strawberry.field(default=None, description="Who runs it.")


@strawberry.input(description="Changes to an own account; an omitted field stays as it is.")
class UpdateOwnAccountInput:
    id: relay.GlobalID
    owner: str | None = strawberry.field(default=None, description="Who runs it now.")
    active: bool | None = strawberry.field(
        default=None, description="false: quiet periods no longer pause it."
    )


OWN_ACCOUNT = Target(tables.OwnAccount, "OwnAccount", "own account", "account_id")
UPDATE = Change(
    OWN_ACCOUNT,
    reread(tables.OwnAccount, OwnAccount.from_row, "OwnAccount"),
    accept=(InvalidInput, NotFound),
)


@strawberry.type
class QuietMutation:
    @strawberry.mutation(
        description=(
            "Register one of your organization's own accounts: quiet periods pause its posts. "
            "The same platform and handle twice answers Conflict. Viewer keys are refused."
        )
    )
    async def add_own_account(self, info: Info, input: AddOwnAccountInput) -> AddOwnAccountResult:
        answer = await perform(
            info,
            AddOwnAccount,
            created(tables.OwnAccount, OwnAccount.from_row, "OwnAccount"),
            accept=(InvalidInput, Conflict),
            **input_fields(input),
        )
        return cast(OwnAccount | InvalidInput | Conflict | Forbidden, answer)

    @strawberry.mutation(
        description="Change who runs an own account, or whether quiet periods pause it."
    )
    async def update_own_account(
        self, info: Info, input: UpdateOwnAccountInput
    ) -> UpdateOwnAccountResult:
        answer = await UPDATE(info, input.id, UpdateOwnAccount, **input_fields(input, but=("id",)))
        return cast(OwnAccount | InvalidInput | NotFound | Forbidden, answer)
