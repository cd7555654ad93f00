"""Completing a response task; the incidents service records it (and a late one's delay)."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import of_incident
from gateway.core.context import Info
from gateway.core.errors import (
    AnyRefusal,
    or_why_not,
)
from gateway.tasks.types import ResponseTask
from libs.contracts.response import CompleteTask
from libs.database import tables

TaskResult = Annotated[ResponseTask | AnyRefusal, or_why_not("TaskResult", "The completed task")]


COMPLETE = of_incident(tables.ResponseTask, "task", "task_id", ResponseTask.from_row)


@strawberry.type
class TaskMutation:
    @strawberry.mutation(description="Mark a response task done; a late one records its delay.")
    async def complete_task(
        self, info: Info, id: relay.GlobalID, note: str | None = None
    ) -> TaskResult:
        return await COMPLETE(info, id, CompleteTask, note=note)
