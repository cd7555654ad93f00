"""Conditions several readers put in SQL, written once beside the tables they test.

Each mirrors a rule of `libs.contracts.vocabulary` for rows still in the database; a test
holds the two forms equal.
"""

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_
from sqlmodel import col

from libs.contracts.enums import TaskStatus
from libs.contracts.vocabulary import CLOSED_STATUSES, values
from libs.database.tables import Incident, ResponseTask


def task_overdue(now: datetime) -> ColumnElement[bool]:
    """Whether a task is overdue at `now`: not done, and found breached or past due."""
    return and_(
        col(ResponseTask.status) != TaskStatus.DONE.value,
        or_(
            col(ResponseTask.breached_at).is_not(None),
            col(ResponseTask.status) == TaskStatus.OVERDUE.value,
            col(ResponseTask.due_at) < now,
        ),
    )


def incident_open() -> ColumnElement[bool]:
    """Whether an incident is still open to new signals."""
    return col(Incident.status).not_in(values(CLOSED_STATUSES))
