"""Completing a response task; the incidents service records it (and a late one's delay)."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.commands import of_incident
from gateway.core.context import Info
from gateway.core.errors import AnyRefusal, or_why_not, superseded_by
from gateway.tasks.types import ResponseTask
from libs.contracts.response import CompleteTask
from libs.database import tables

TaskResult = Annotated[ResponseTask | AnyRefusal, or_why_not("TaskResult", "The completed task")]


COMPLETE = of_incident(tables.ResponseTask, "task", "task_id", ResponseTask.from_row)


@strawberry.input(description="The response task done, and a note on how.")
class ResponseTaskCompleteInput:
    id: relay.GlobalID
    note: str | None = None


COMPLETED = "Mark a response task done; a late one records its delay."


@strawberry.type
class TaskMutation:
    @strawberry.mutation(
        description=COMPLETED, deprecation_reason=superseded_by("responseTaskComplete")
    )
    async def complete_task(
        self, info: Info, id: relay.GlobalID, note: str | None = None
    ) -> TaskResult:
        return await COMPLETE(info, id, CompleteTask, note=note)

    @strawberry.mutation(description=COMPLETED)
    async def response_task_complete(
        self, info: Info, input: ResponseTaskCompleteInput
    ) -> TaskResult:
        return await COMPLETE(info, input.id, CompleteTask, note=input.note)
