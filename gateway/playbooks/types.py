"""A playbook as clients read it: the team it puts together and the tasks it adds."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Any, Self

import strawberry

from gateway.core.enums import Channel, CrisisType, TeamRole, Tier
from gateway.core.rows import Stored, converted, each, optional

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
            channel=optional(Channel)(task.get("channel")),
        )


def _crisis_type(stored: str) -> CrisisType | None:
    return None if stored == ANY_CRISIS_TYPE else CrisisType(stored)


@strawberry.type(
    description=(
        "Your organization's response for a tier (and optionally one crisis type). Tiers "
        "without one use the built-in playbook."
    )
)
class Playbook(Stored):
    CONVERTED = converted(
        tier=Tier,
        crisis_type=_crisis_type,
        team=each(PlaybookTeamSlot.from_json),
        tasks=each(PlaybookTask.from_json),
    )

    tier: Tier
    crisis_type: CrisisType | None = strawberry.field(description="Null: any crisis type.")
    team: list[PlaybookTeamSlot]
    tasks: list[PlaybookTask]
    legal_review: bool = strawberry.field(
        description="Whether every statement at this tier needs legal approval (red's always do)."
    )
    updated_at: datetime
