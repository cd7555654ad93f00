"""The incident reads: incidents and their events by id, and each incident's children.

Keyed by incident id, so a page of incidents costs one query per kind of child, whatever
the page size. Tasks are also what an incidents page reads for all its nodes at once
(`gateway.incidents.queries.incident_extras`).
"""

from sqlmodel import col

from gateway.core.reads import ById, Children
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
TASKS_BY_INCIDENT = Children(
    ResponseTask,
    col(ResponseTask.incident_id),
    order_by=(col(ResponseTask.position), col(ResponseTask.due_at), col(ResponseTask.id)),
)
TIMELINE_BY_INCIDENT = Children(
    TimelineEvent,
    col(TimelineEvent.incident_id),
    order_by=(col(TimelineEvent.occurred_at), col(TimelineEvent.id)),
)
TEAM_BY_INCIDENT = Children(
    IncidentMember,
    col(IncidentMember.incident_id),
    order_by=(col(IncidentMember.assigned_at), col(IncidentMember.id)),
)
STATEMENTS_BY_INCIDENT = Children(
    Statement,
    col(Statement.incident_id),
    order_by=(col(Statement.created_at), col(Statement.id)),
)
KEY_FACTS_BY_INCIDENT = Children(
    KeyFact,
    col(KeyFact.incident_id),
    order_by=(col(KeyFact.created_at), col(KeyFact.label)),
)
# The contact's ciphertext is never loaded: the gateway shows masked data only.
AFFECTED_USERS_BY_INCIDENT = Children(
    AffectedUser,
    col(AffectedUser.incident_id),
    order_by=(col(AffectedUser.created_at), col(AffectedUser.id)),
    omit=(AffectedUser.contact_cipher,),
)
REVIEW_BY_INCIDENT = ById(ReviewReport, col(ReviewReport.incident_id))
