"""War-room mutations on an incident itself: status, tier, team, tasks, facts, snoozes, playbooks.

Each is the matching command of `libs.contracts.response`, answered by the incidents
service; the changed object is read back from the database after success.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.context import Info
from gateway.schema.commands import (
    answered_id,
    dispatch,
    fetch,
    forbidden_unless_admin,
    incident_status,
    owned,
    owned_for_change,
    refused,
    vanished,
)
from gateway.schema.enums import Channel, CrisisType, IncidentStatus, TeamRole, Tier
from gateway.schema.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from gateway.schema.queries import as_utc
from gateway.schema.response_types import Playbook, WatchlistSnooze
from gateway.schema.types import Incident, ResponseTask
from libs.contracts.messages import CommandResult
from libs.contracts.response import (
    AssignRole,
    ChangeIncidentTier,
    CompleteTask,
    SetKeyFacts,
    SetPlaybook,
    SnoozeWatchlist,
    TransitionIncident,
)
from libs.database import tables

SERVICE = "incidents"
# The services name the object a mutation takes as `id` by its own field name.
AS_ID = {"incidentId": "id", "taskId": "id", "statementId": "id"}

IncidentResult = Annotated[
    Incident | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("IncidentResult", description="The changed incident, or why not."),
]
TaskResult = Annotated[
    ResponseTask | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("TaskResult", description="The completed task, or why not."),
]
SnoozeResult = Annotated[
    WatchlistSnooze | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("SnoozeResult", description="The snooze, or why not."),
]
PlaybookResult = Annotated[
    Playbook | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("PlaybookResult", description="The stored playbook, or why not."),
]


@strawberry.input(description="A fact every statement must carry the same way.")
class KeyFactInput:
    label: str
    value: str


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


async def _incident_answer(
    info: Info, incident: tables.Incident, result: CommandResult | InvalidInput
) -> IncidentResult:
    """Map the answer of a command on `incident` and read the incident back."""
    if isinstance(result, InvalidInput):
        return result
    if not result.ok:
        status = await incident_status(info, incident.id)
        return refused(result, service=SERVICE, current_status=status, renames=AS_ID)
    row = await fetch(info, tables.Incident, incident.id)
    if row is None:
        raise vanished("Incident", incident.id)
    return Incident.from_row(row)


@strawberry.type
class ResponseMutation:
    @strawberry.mutation(
        description=(
            "Move an incident to another status (assessing, responding, recovering, resolved, "
            "closed, merged, false alarm); `mergeIntoId` names the incident it joins when "
            "merged. A move the lifecycle forbids answers InvalidTransition with the current "
            "status; resolving drafts the review report."
        )
    )
    async def transition_incident(
        self,
        info: Info,
        id: relay.GlobalID,
        to_status: IncidentStatus,
        reason: str | None = None,
        merge_into_id: relay.GlobalID | None = None,
    ) -> IncidentResult:
        incident = await owned_for_change(info, tables.Incident, id, "Incident", "incident")
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        merge_into = None
        if merge_into_id is not None:
            target = await owned(info, tables.Incident, merge_into_id, "Incident")
            if target is None:
                return InvalidInput(
                    message=f"No incident with id {merge_into_id} to merge into.",
                    field="mergeIntoId",
                )
            merge_into = target.id
        result = await dispatch(
            info,
            TransitionIncident,
            incident_id=incident.id,
            to_status=to_status,
            reason=reason,
            merge_into_id=merge_into,
        )
        return await _incident_answer(info, incident, result)

    @strawberry.mutation(
        description=(
            "Raise or lower an incident's tier by hand, with a reason; raising adds the "
            "higher tier's playbook tasks."
        )
    )
    async def change_incident_tier(
        self, info: Info, id: relay.GlobalID, tier: Tier, reason: str
    ) -> IncidentResult:
        incident = await owned_for_change(info, tables.Incident, id, "Incident", "incident")
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        result = await dispatch(
            info,
            ChangeIncidentTier,
            incident_id=incident.id,
            tier=tier,
            reason=reason,
        )
        return await _incident_answer(info, incident, result)

    @strawberry.mutation(description="Put a person in a role on the incident's team.")
    async def assign_role(
        self, info: Info, incident_id: relay.GlobalID, role: TeamRole, person: str
    ) -> IncidentResult:
        incident = await owned_for_change(
            info, tables.Incident, incident_id, "Incident", "incident"
        )
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        result = await dispatch(
            info,
            AssignRole,
            incident_id=incident.id,
            role=role,
            person=person,
        )
        return await _incident_answer(info, incident, result)

    @strawberry.mutation(
        description=(
            "Replace the incident's key facts: the facts every channel's statement must carry "
            "the same way (一致性原则). Statements are checked against them again."
        )
    )
    async def set_key_facts(
        self, info: Info, incident_id: relay.GlobalID, facts: list[KeyFactInput]
    ) -> IncidentResult:
        incident = await owned_for_change(
            info, tables.Incident, incident_id, "Incident", "incident"
        )
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        result = await dispatch(
            info,
            # A refusal names the nested entry, e.g. `facts[1].value`.
            SetKeyFacts,
            incident_id=incident.id,
            facts=[{"label": fact.label, "value": fact.value} for fact in facts],
        )
        return await _incident_answer(info, incident, result)

    @strawberry.mutation(description="Mark a response task done; a late one records its delay.")
    async def complete_task(
        self, info: Info, id: relay.GlobalID, note: str | None = None
    ) -> TaskResult:
        task = await owned_for_change(info, tables.ResponseTask, id, "ResponseTask", "task")
        if isinstance(task, (Forbidden, NotFound)):
            return task
        result = await dispatch(
            info,
            CompleteTask,
            task_id=task.id,
            note=note,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            status = await incident_status(info, task.incident_id)
            return refused(result, service=SERVICE, current_status=status, renames=AS_ID)
        row = await fetch(info, tables.ResponseTask, task.id)
        if row is None:
            raise vanished("Task", task.id)
        return ResponseTask.from_row(row)

    @strawberry.mutation(
        description=(
            "Silence a watchlist until a time within the next 30 days: its signals open no "
            "incident meanwhile. A reason is required."
        )
    )
    async def snooze_watchlist(
        self, info: Info, watchlist_id: relay.GlobalID, until: datetime, reason: str
    ) -> SnoozeResult:
        watchlist = await owned_for_change(
            info, tables.Watchlist, watchlist_id, "Watchlist", "watchlist"
        )
        if isinstance(watchlist, (Forbidden, NotFound)):
            return watchlist
        result = await dispatch(
            info,
            SnoozeWatchlist,
            watchlist_id=watchlist.id,
            until=as_utc(until),
            reason=reason,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE)
        snooze_id = answered_id(result)
        row = await fetch(info, tables.WatchlistSnooze, snooze_id)
        if row is None:
            raise vanished("Snooze", snooze_id)
        return WatchlistSnooze.from_row(row)

    @strawberry.mutation(
        description=(
            "Replace your organization's playbook for a tier (and optionally one crisis type): "
            "the team and the tasks with their deadlines. Admin keys only; incidents already "
            "open keep their tasks."
        )
    )
    async def set_playbook(self, info: Info, input: SetPlaybookInput) -> PlaybookResult:
        if (refusal := forbidden_unless_admin(info, "change playbooks")) is not None:
            return refusal
        result = await dispatch(
            info,
            # A refusal names the nested entry, e.g. `tasks[0].kind`.
            SetPlaybook,
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
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE)
        playbook_id = answered_id(result)
        row = await fetch(info, tables.Playbook, playbook_id)
        if row is None:
            raise vanished("Playbook", playbook_id)
        return Playbook.from_row(row)
