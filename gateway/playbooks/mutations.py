"""Replacing a playbook, admin keys only; the incidents service stores it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated

import strawberry

from gateway.core.commands import created, perform
from gateway.core.context import Info
from gateway.core.enums import Channel, CrisisType, TeamRole, Tier
from gateway.core.errors import (
    AnyRefusal,
    or_why_not,
)
from gateway.playbooks.types import Playbook
from libs.contracts.response import SetPlaybook
from libs.database import tables

PlaybookResult = Annotated[
    Playbook | AnyRefusal, or_why_not("PlaybookResult", "The stored playbook")
]


@strawberry.input(description="A role a playbook puts on the team, and how many people fill it.")
class TeamSlotInput:
    role: TeamRole
    count: int = 1


@strawberry.input(description="A task a playbook adds, due a number of minutes after detection.")
class PlaybookTaskInput:
    kind: str = strawberry.field(description="Unique within the playbook, e.g. `first_statement`.")
    title: str
    due_after_minutes: int
    role: TeamRole = strawberry.field(description="The owning role; it must be on the team.")
    channel: Channel | None = None


@strawberry.input(description="A playbook for a tier, and optionally for one crisis type.")
class SetPlaybookInput:
    tier: Tier
    crisis_type: CrisisType | None = strawberry.field(
        default=None, description="Omit for the tier's playbook for any crisis type."
    )
    team: list[TeamSlotInput]
    tasks: list[PlaybookTaskInput]
    legal_review: bool | None = strawberry.field(
        default=None,
        description=(
            "true: every statement of an incident at this tier needs legal approval too. "
            "Omitted or false: only red incidents' statements do."
        ),
    )


@strawberry.type
class PlaybookMutation:
    @strawberry.mutation(
        description=(
            "Replace your organization's playbook for a tier (and optionally one crisis type): "
            "the team and the tasks with their deadlines. Admin keys only; incidents already "
            "open keep their tasks."
        )
    )
    async def set_playbook(self, info: Info, input: SetPlaybookInput) -> PlaybookResult:
        return await perform(
            info,
            # A refusal names the nested entry, e.g. `tasks[0].kind`.
            SetPlaybook,
            created(tables.Playbook, Playbook.from_row, "Playbook"),
            manage="change playbooks",
            tier=input.tier,
            crisis_type=input.crisis_type,
            team=[{"role": slot.role, "count": slot.count} for slot in input.team],
            tasks=[
                {
                    "kind": task.kind,
                    "title": task.title,
                    "due_after_minutes": task.due_after_minutes,
                    "role": task.role,
                    "channel": task.channel,
                }
                for task in input.tasks
            ],
            legal_review=input.legal_review,
        )
