"""Completing a response task; the incidents service records it (and a late one's delay)."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import RESPONSE_IDS, owned_for_change, read_back, run
from gateway.core.context import Info
from gateway.core.errors import Conflict, Forbidden, InvalidInput, InvalidTransition, NotFound
from gateway.tasks.types import ResponseTask
from libs.contracts.messages import CommandResult
from libs.contracts.response import CompleteTask
from libs.database import tables

TaskResult = Annotated[
    ResponseTask | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("TaskResult", description="The completed task, or why not."),
]


@strawberry.type
class TaskMutation:
    @strawberry.mutation(description="Mark a response task done; a late one records its delay.")
    async def complete_task(
        self, info: Info, id: relay.GlobalID, note: str | None = None
    ) -> TaskResult:
        task = await owned_for_change(info, tables.ResponseTask, id, "ResponseTask", "task")
        if isinstance(task, (Forbidden, NotFound)):
            return task
        result = await run(
            info,
            CompleteTask,
            status_of=task.incident_id,
            renames=RESPONSE_IDS,
            task_id=task.id,
            note=note,
        )
        if not isinstance(result, CommandResult):
            return result
        return await read_back(info, tables.ResponseTask, task.id, ResponseTask.from_row, "Task")
