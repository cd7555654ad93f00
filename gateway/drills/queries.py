"""A drill by id and the list of drills, the latest started first unless sorted otherwise."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.filters import equals
from gateway.core.inputs import local_id
from gateway.core.listing import Key, ListSpec, Sorting
from gateway.drills.types import Drill
from libs.contracts.enums import DrillScenario, DrillState
from libs.database import tables

drill = tables.Drill


@strawberry.input(description="Narrow a drill list; every given condition must hold.")
class DrillFilter:
    scenario: DrillScenario | None = equals(drill.scenario)
    state: DrillState | None = equals(drill.state)


DRILL_ORDER = Sorting("Sort drills.", STARTED_AT=Key.time(drill.started_at))
DRILL_LIST = ListSpec(Drill, DrillFilter, DRILL_ORDER, noun="a drill list")


@strawberry.type
class DrillQuery:
    @strawberry.field(description="One drill by its global id; null if not in your organization.")
    async def drill(self, info: Info, id: relay.GlobalID) -> Drill | None:
        return await Drill.load(info, local_id(id, "Drill"))

    drills = DRILL_LIST.connection_field(
        "Your organization's drills with their score cards, the latest started first unless "
        "`orderBy` says otherwise."
    )
