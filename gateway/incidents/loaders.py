"""The incident reads: incidents and their events by id, and each incident's children.

Keyed by incident id, so a page of incidents costs one query per kind of child, whatever
the page size. Tasks are also what an incidents page reads for all its nodes at once
(`gateway.incidents.queries.incident_extras`).
"""

from collections.abc import Collection
from typing import Any

from sqlmodel import col

from gateway.core.reads import ById, Children, Row
from libs.database.tables import (
    AffectedUser,
    Incident,
    IncidentMember,
    KeyFact,
    ResponseTask,
    ReviewReport,
    Statement,
    TimelineEvent,
)

INCIDENTS = ById(Incident, col(Incident.id))
EVENTS = ById(TimelineEvent, col(TimelineEvent.id))


def _by_incident(table: type[Row], *order_by: Any, omit: Collection[Any] = ()) -> Children[Row]:
    """The `table` rows of each incident (by their `incident_id`), in `order_by` order."""
    parent = col(getattr(table, "incident_id"))  # noqa: B009 - every child table has one
    return Children(table, parent, order_by=[col(column) for column in order_by], omit=omit)


TASKS_BY_INCIDENT = _by_incident(
    ResponseTask, ResponseTask.position, ResponseTask.due_at, ResponseTask.id
)
TIMELINE_BY_INCIDENT = _by_incident(TimelineEvent, TimelineEvent.occurred_at, TimelineEvent.id)
TEAM_BY_INCIDENT = _by_incident(IncidentMember, IncidentMember.assigned_at, IncidentMember.id)
STATEMENTS_BY_INCIDENT = _by_incident(Statement, Statement.created_at, Statement.id)
KEY_FACTS_BY_INCIDENT = _by_incident(KeyFact, KeyFact.created_at, KeyFact.label)
# The contact's ciphertext is never loaded: the gateway shows masked data only.
AFFECTED_USERS_BY_INCIDENT = _by_incident(
    AffectedUser, AffectedUser.created_at, AffectedUser.id, omit=(AffectedUser.contact_cipher,)
)
REVIEW_BY_INCIDENT = ById(ReviewReport, col(ReviewReport.incident_id))
