"""Response tasks across incidents, soonest due first unless sorted otherwise."""

from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from gateway.core.listing import (
    Key,
    ListSpec,
    OrderDirection,
    Scope,
    Where,
    before,
    equal,
    holds,
    names,
    since,
)
from gateway.core.predicates import OPEN_STATUSES, task_overdue
from gateway.tasks.types import ResponseTask, TaskFilter
from libs.database import tables

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


TASK_LIST = ListSpec(
    "Task",
    kind="task",
    table=task,
    node=ResponseTask,
    keys={
        "DUE_AT": Key(col(task.due_at), datetime),
        "CREATED_AT": Key(col(task.created_at), datetime),
    },
    direction=OrderDirection.ASC,
    filter=TaskFilter,
    where={
        "status": equal(col(task.status)),
        "overdue": holds(lambda scope: task_overdue(scope.now)),
        "role": equal(col(task.role)),
        "person": Where(_held_by),
        "incident_id": names(col(task.incident_id), "Incident"),
        "incident_open": holds(_incident_open),
        "channel": equal(col(task.channel)),
        "kind": equal(col(task.kind)),
        "due_before": before(col(task.due_at)),
        "due_after": since(col(task.due_at)),
    },
    noun="a task list",
    description="Sort response tasks.",
)


@strawberry.type
class TaskQuery:
    tasks = TASK_LIST.connection_field(
        "Response tasks across incidents, soonest due first unless `orderBy` says "
        'otherwise; e.g. `filter: {overdue: true, person: "王经理"}` for one person\'s '
        "overdue tasks."
    )
