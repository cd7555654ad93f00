"""A situation report as clients read it: its tactical and executive parts."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import strawberry

from gateway.core.context import Info
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted
from gateway.incidents.types import Incident
from gateway.sitreps.loaders import REPORTS


@strawberry.enum(description="A situation report is drafted by the system, then sent by a person.")
class SituationReportState(StrEnum):
    DRAFT = "draft"
    SENT = "sent"


@strawberry.type(
    description=(
        "A periodic situation report (态势报告) of an open incident: every 2 hours at red, 4 at "
        "orange, 8 otherwise, drafted from the figures, timeline, tasks and statements of the "
        "period; edited and sent with `sendSituationReport` to the team's chat and webhooks."
    )
)
class SituationReport(LoadedNode):
    ROWS = REPORTS
    CONVERTED = converted(status=SituationReportState)

    number: int
    status: SituationReportState
    covers_from: datetime
    covers_until: datetime
    created_at: datetime
    sent_at: datetime | None
    sent_by: str | None
    incident_id: strawberry.Private[uuid.UUID]
    tactical: strawberry.Private[dict[str, Any]]
    executive: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The incident reported on.")
    async def incident(self, info: Info) -> Incident | None:
        return await Incident.load(info, self.incident_id)

    @strawberry.field(description="Tactical: the conditions (tier, figures, statements out).")
    def conditions(self) -> list[str]:
        return list(self.tactical.get("conditions", []))

    @strawberry.field(description="Tactical: what the team did in the period.")
    def actions(self) -> list[str]:
        return list(self.tactical.get("actions", []))

    @strawberry.field(description="Tactical: what is needed now (overdue, due soon, reviews).")
    def needs(self) -> list[str]:
        return list(self.tactical.get("needs", []))

    @strawberry.field(description="Executive: the status in one line.")
    def situation(self) -> str:
        return str(self.executive.get("status", ""))

    @strawberry.field(description="Executive: the overview.")
    def overview(self) -> str:
        return str(self.executive.get("overview", ""))

    @strawberry.field(description="Executive: the next steps.")
    def next_steps(self) -> list[str]:
        return list(self.executive.get("next_steps", []))
