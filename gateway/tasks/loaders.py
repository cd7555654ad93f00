"""The task read other types load through (`ResponseTask.load`), and each incident's team."""

from sqlmodel import col

from gateway.core.reads import ById, Children
from libs.database.tables import Incident, IncidentMember, ResponseTask

TASKS = ById(ResponseTask, col(ResponseTask.id))
# The roles held on each incident's team, to say whether a task's role is filled.
TEAM_ROLES = Children(
    IncidentMember, col(IncidentMember.incident_id), order_by=[col(IncidentMember.id)]
)
# Each task's incident, for what the task inherits from it (whether it is a drill's).
TASK_INCIDENTS = ById(Incident, col(Incident.id))
