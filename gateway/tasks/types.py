"""A response task as clients read it, and the filter of task lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry

from gateway.core.enums import Channel, TaskStatus, TeamRole
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted, optional
from gateway.tasks.loaders import TASKS


@strawberry.type(description="A playbook task with its deadline.")
class ResponseTask(LoadedNode):
    ROWS = TASKS
    CONVERTED = converted(
        status=TaskStatus,
        role=optional(TeamRole),
        channel=optional(Channel),
        escalated_to=optional(TeamRole),
    )

    title: str
    kind: str
    due_at: datetime
    status: TaskStatus
    completed_at: datetime | None
    completed_by: str | None
    role: TeamRole | None = strawberry.field(description="The team role that owns the task.")
    channel: Channel | None = strawberry.field(
        description="The channel a statement task is for; null for other tasks."
    )
    breached_at: datetime | None = strawberry.field(
        description="When the deadline watchdog found the task past due; null if never."
    )
    escalated_to: TeamRole | None = strawberry.field(
        description="The role the breach was escalated to; null if not escalated."
    )
