"""Response tasks across incidents, soonest due first unless sorted otherwise."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy import true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select
from strawberry import relay

from gateway.core.enums import Channel, TaskStatus, TeamRole
from gateway.core.filters import Scope, at_or_after, before, condition, equals, holds, names
from gateway.core.listing import Key, ListSpec, OrderDirection, Sorting
from gateway.core.predicates import OPEN_STATUSES
from gateway.tasks.types import ResponseTask
from libs.database import tables
from libs.database.predicates import task_overdue

task, incident, member = tables.ResponseTask, tables.Incident, tables.IncidentMember


def _held_by(person: Any, scope: Scope, field: str) -> ColumnElement[bool]:
    """The person holds the task's owning role on its incident's team."""
    return (
        select(member.id)
        .where(
            col(member.organization_id) == scope.organization_id,
            col(member.incident_id) == col(task.incident_id),
            col(member.role) == col(task.role),
            col(member.person) == person,
        )
        .exists()
    )


def _incident_open(scope: Scope) -> ColumnElement[bool]:
    """The task's incident is still being handled."""
    return (
        select(incident.id)
        .where(
            col(incident.id) == col(task.incident_id),
            col(incident.organization_id) == scope.organization_id,
            col(incident.status).in_(OPEN_STATUSES),
        )
        .exists()
    )


def _of_drill() -> ColumnElement[bool]:
    """The task's incident is a drill's."""
    return (
        select(incident.id)
        .where(col(incident.id) == col(task.incident_id), col(incident.drill).is_(True))
        .exists()
    )


@strawberry.input(
    description=(
        "Narrow response tasks across incidents; every given condition must hold. "
        "`overdue` and `person` make a 'my overdue tasks' view."
    )
)
class TaskFilter:
    status: TaskStatus | None = equals(task.status)
    overdue: bool | None = holds(
        lambda scope: task_overdue(scope.now),
        "true: not done and past due (or already marked overdue); false: done or not yet due.",
    )
    role: TeamRole | None = equals(task.role, "The owning role.")
    person: str | None = condition(
        _held_by, "Tasks whose owning role this person holds on the incident's team."
    )
    incident_id: relay.GlobalID | None = names(task.incident_id, "Incident")
    incident_open: bool | None = holds(
        _incident_open, "Whether the task's incident is still being handled."
    )
    channel: Channel | None = equals(task.channel)
    kind: str | None = equals(task.kind)
    due_before: datetime | None = before(task.due_at, "Due before.")
    due_after: datetime | None = at_or_after(task.due_at, "Due at or after.")
    include_drills: bool | None = condition(
        lambda value, _, __: true() if value else ~_of_drill(),
        "true: drills' tasks (演练) count too; left out otherwise.",
    )


TASK_ORDER = Sorting(
    "Sort response tasks.",
    OrderDirection.ASC,
    DUE_AT=Key.time(task.due_at),
    CREATED_AT=Key.time(task.created_at),
)
TASK_LIST = ListSpec(
    ResponseTask, TaskFilter, TASK_ORDER, unless_given={"include_drills": ~_of_drill()}
)


@strawberry.type
class TaskQuery:
    tasks = TASK_LIST.connection_field(
        "Response tasks across incidents, soonest due first unless `orderBy` says "
        'otherwise; e.g. `filter: {overdue: true, person: "王经理"}` for one person\'s '
        "overdue tasks."
    )
