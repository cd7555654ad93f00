"""The incident reads: incidents and their events by id, and each incident's children.

Keyed by incident id, so a page of incidents costs one query per kind of child, whatever
the page size. The children that can grow without bound (timeline, tasks, statements,
affected users) are also declared as nested connections, paged per incident with keyset
cursors. Tasks are also what an incidents page reads for all its nodes at once
(`gateway.incidents.queries.incident_extras`).
"""

import uuid
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlmodel import col
from sqlmodel import select as model_select

from gateway.core.context import Info
from gateway.core.nested import NestedList
from gateway.core.pagination import Ordering
from gateway.core.reads import ById, Children, Row, plain_columns
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


def _rows_of(table: type[Row], omit: Collection[Any] = ()) -> Callable[[uuid.UUID], Select[Any]]:
    """The organization's `table` rows as plain columns, without those in `omit`."""

    def rows(organization_id: uuid.UUID) -> Select[Any]:
        return select(*plain_columns(table, omit)).where(
            col(getattr(table, "organization_id")) == organization_id  # noqa: B009
        )

    return rows


def _paged_by_incident(
    kind: str, table: type[Row], ordering: Ordering, omit: Collection[Any] = ()
) -> NestedList:
    """A nested connection of each incident's `table` rows, in `ordering` then by id."""
    return NestedList(
        kind=kind,
        rows=_rows_of(table, omit),
        parent=col(getattr(table, "incident_id")),  # noqa: B009 - every child table has one
        id_column=col(getattr(table, "id")),  # noqa: B009
        ordering=ordering,
    )


TASK_PAGES = _paged_by_incident(
    "incident-task",
    ResponseTask,
    Ordering("POSITION", col(ResponseTask.position), int, descending=False),
)
EVENT_PAGES = _paged_by_incident(
    "incident-event",
    TimelineEvent,
    Ordering("OCCURRED_AT", col(TimelineEvent.occurred_at), datetime, descending=False),
)
STATEMENT_PAGES = _paged_by_incident(
    "incident-statement",
    Statement,
    Ordering("CREATED_AT", col(Statement.created_at), datetime, descending=False),
)
AFFECTED_USER_PAGES = _paged_by_incident(
    "incident-affected-user",
    AffectedUser,
    Ordering("CREATED_AT", col(AffectedUser.created_at), datetime, descending=False),
    omit=(AffectedUser.contact_cipher,),
)


# A playbook row for every crisis type; a type-specific row beats it (as the service reads).
ANY_CRISIS_TYPE = "*"


async def playbook_team(
    info: Info, tier: Tier, crisis_type: str | None
) -> tuple[tuple[TeamRole, int], ...]:
    """Return the roles and head counts the organization's playbook for `tier` and
    `crisis_type` calls for: its own playbook's, else the tier's default team."""
    wanted = [ANY_CRISIS_TYPE] if crisis_type is None else [crisis_type, ANY_CRISIS_TYPE]
    statement = model_select(Playbook.crisis_type, Playbook.team).where(
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
