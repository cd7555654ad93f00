"""A response task as clients read it, and the filter of task lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime

import strawberry

from gateway.core.context import Info
from gateway.core.enums import Channel, TaskStatus, TeamRole
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted, optional
from gateway.tasks.loaders import TASK_INCIDENTS, TASKS, TEAM_ROLES


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
    incident_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description=(
            "Whether anyone holds the task's role on the incident's team: false says the "
            "task waits for someone to be assigned that role; null for a task of no role."
        )
    )
    async def role_filled(self, info: Info) -> bool | None:
        if self.role is None:
            return None
        members = await info.context.loaders.of(TEAM_ROLES).load(self.incident_id)
        return any(member.role == self.role.value for member in members)

    @strawberry.field(description="true: the task belongs to a drill's incident (演练).")
    async def drill(self, info: Info) -> bool:
        incident = await info.context.loaders.of(TASK_INCIDENTS).load(self.incident_id)
        return incident is not None and incident.drill
