"""The incident list and an incident by id; a page reads its incidents' tasks with it."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col
from strawberry import relay
from strawberry.types.unset import UnsetType

from gateway.core.context import Info
from gateway.core.enums import CrisisType, IncidentStatus, Tier
from gateway.core.filters import at_or_after, before, equals, holds, included, names, present
from gateway.core.inputs import local_id
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.core.nested import first_pages_asked
from gateway.core.pagination import Preload
from gateway.core.predicates import OPEN_STATUSES, status_rank, tier_rank
from gateway.core.selection import node_selections
from gateway.incidents.loaders import TASK_PAGES, TASKS_BY_INCIDENT
from gateway.incidents.types import Incident
from gateway.tasks.types import ResponseTask
from libs.database import tables

incident = tables.Incident


@strawberry.input(description="Narrow an incident list; every given condition must hold.")
class IncidentFilter:
    status: IncidentStatus | None = equals(incident.status)
    tier: Tier | None = equals(incident.tier)
    watchlist_id: relay.GlobalID | None = names(incident.watchlist_id, "Watchlist")
    crisis_type: CrisisType | None = equals(incident.crisis_type)
    open: bool | None = holds(
        lambda scope: col(incident.status).in_(OPEN_STATUSES),
        "true: still being handled (not resolved, closed, merged or a false alarm).",
    )
    acknowledged: bool | None = present(
        incident.acknowledged_at, "Whether someone acknowledged it."
    )
    detected_since: datetime | None = at_or_after(
        incident.detected_at, "Detected at or after; a time without an offset is UTC."
    )
    detected_until: datetime | None = before(
        incident.detected_at, "Detected before; a time without an offset is UTC."
    )
    include_drills: bool | None = included(
        incident.drill, "true: drills' incidents (演练) count too; left out otherwise."
    )


INCIDENT_ORDER = Sorting(
    "Sort incidents; `TIER` by severity, `STATUS` by place in the lifecycle "
    "(detected … closed, then merged and false alarm).",
    DETECTED_AT=Key.time(incident.detected_at),
    UPDATED_AT=Key.time(incident.updated_at),
    TIER=Key(tier_rank(col(incident.tier)), int),
    STATUS=Key(status_rank(col(incident.status)), int),
)
INCIDENT_LIST = ListSpec(
    Incident,
    IncidentFilter,
    INCIDENT_ORDER,
    unless_given={"include_drills": col(incident.drill).is_(False)},
)


def incident_extras(info: Info) -> Preload[Incident] | None:
    """Return what reads the tasks an incidents page will show, if it shows them: the list
    (`tasks`), and each first page `tasksConnection` asks for."""
    selections = node_selections(info)
    whole = any(selected.name == "tasks" for selected in selections)
    pages = first_pages_asked(selections, "tasksConnection")
    if not whole and not pages:
        return None
    organization_id = info.context.principal.organization_id

    async def preload(connection: AsyncConnection, incidents: list[Incident]) -> None:
        ids = [node.id for node in incidents]
        if whole:
            tasks = await TASKS_BY_INCIDENT.fetch(connection, organization_id, ids)
            for node in incidents:
                node.known_tasks = ResponseTask.from_rows(tasks.get(node.id, []))
        for request in pages:
            read = await TASK_PAGES.preloaded(info, connection, ids, request, ResponseTask.from_row)
            for node in incidents:
                if isinstance(node.known_task_pages, UnsetType):
                    node.known_task_pages = {}
                node.known_task_pages[request] = read[node.id]

    return preload


@strawberry.type
class IncidentQuery:
    incidents = INCIDENT_LIST.connection_field(
        "Incidents, most recently detected first unless `orderBy` says otherwise.",
        preload=incident_extras,
    )

    @strawberry.field(
        description="One incident by its global id; null if not in your organization."
    )
    async def incident(self, info: Info, id: relay.GlobalID) -> Incident | None:
        return await Incident.load(info, local_id(id, "Incident"))
