"""A playbook as clients read it: the team it puts together and the tasks it adds."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Any, Self

import strawberry

from gateway.core.enums import Channel, CrisisType, TeamRole, Tier
from gateway.core.nodes import Stored, from_columns, maybe
from libs.database import tables

# How a playbook for any crisis type is stored in `playbook.crisis_type`.
ANY_CRISIS_TYPE = "*"


@strawberry.type(description="A role a playbook puts on the team, and how many people fill it.")
class PlaybookTeamSlot:
    role: TeamRole
    count: int

    @classmethod
    def from_json(cls, slot: dict[str, Any]) -> Self:
        """Build from one entry of `playbook.team`."""
        return cls(role=TeamRole(slot["role"]), count=int(slot["count"]))


@strawberry.type(description="A task a playbook adds, due a number of minutes after detection.")
class PlaybookTask:
    kind: str
    title: str
    due_after_minutes: int
    role: TeamRole
    channel: Channel | None

    @classmethod
    def from_json(cls, task: dict[str, Any]) -> Self:
        """Build from one entry of `playbook.tasks`."""
        return cls(
            kind=str(task["kind"]),
            title=str(task["title"]),
            due_after_minutes=int(task["due_after_minutes"]),
            role=TeamRole(task["role"]),
            channel=maybe(Channel, task.get("channel")),
        )


@strawberry.type(
    description=(
        "Your organization's response for a tier (and optionally one crisis type). Tiers "
        "without one use the built-in playbook."
    )
)
class Playbook(Stored):
    tier: Tier
    crisis_type: CrisisType | None = strawberry.field(description="Null: any crisis type.")
    team: list[PlaybookTeamSlot]
    tasks: list[PlaybookTask]
    updated_at: datetime

    @classmethod
    def from_row(cls, row: tables.Playbook) -> Self:
        """Build from a playbook row."""
        return from_columns(
            cls,
            row,
            tier=Tier(row.tier),
            crisis_type=None if row.crisis_type == ANY_CRISIS_TYPE else CrisisType(row.crisis_type),
            team=[PlaybookTeamSlot.from_json(slot) for slot in row.team],
            tasks=[PlaybookTask.from_json(task) for task in row.tasks],
        )
