"""The incident reads: incidents and their events by id, and each incident's children.

Keyed by incident id, so a page of incidents costs one query per kind of child, whatever
the page size. Tasks are also what an incidents page reads for all its nodes at once
(`gateway.incidents.queries.incident_extras`).
"""

from collections.abc import Collection
from typing import Any

from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.reads import ById, Children, Row
from libs.contracts.enums import TeamRole, Tier
from libs.contracts.teams import DEFAULT_TEAMS
from libs.database.tables import (
    AffectedUser,
    Incident,
    IncidentMember,
    KeyFact,
    Playbook,
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


# A playbook row for every crisis type; a type-specific row beats it (as the service reads).
ANY_CRISIS_TYPE = "*"


async def playbook_team(
    info: Info, tier: Tier, crisis_type: str | None
) -> tuple[tuple[TeamRole, int], ...]:
    """Return the roles and head counts the organization's playbook for `tier` and
    `crisis_type` calls for: its own playbook's, else the tier's default team."""
    wanted = [ANY_CRISIS_TYPE] if crisis_type is None else [crisis_type, ANY_CRISIS_TYPE]
    statement = select(Playbook.crisis_type, Playbook.team).where(
        col(Playbook.organization_id) == info.context.principal.organization_id,
        col(Playbook.tier) == tier.value,
        col(Playbook.crisis_type).in_(wanted),
    )
    async with info.context.sessions() as session:
        teams = {crisis: team for crisis, team in (await session.exec(statement)).all()}
    for key in wanted:
        if key in teams:
            return tuple((TeamRole(slot["role"]), int(slot["count"])) for slot in teams[key])
    return DEFAULT_TEAMS[tier]
