"""Starting and ending a drill: commands to the analysis service, which owns drills."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import Change, Target, created, perform, reread
from gateway.core.context import Info
from gateway.core.errors import Forbidden, InvalidInput, NotFound, or_why_not
from gateway.core.inputs import optional_id
from gateway.drills.types import Drill
from libs.contracts.enums import DrillDelivery, DrillScenario
from libs.contracts.messages import EndDrill, StartDrill
from libs.database import tables

StartDrillResult = Annotated[
    Drill | InvalidInput | NotFound | Forbidden,
    or_why_not("StartDrillResult", "The drill, RUNNING: play its posts into its watchlist"),
]
EndDrillResult = Annotated[
    Drill | InvalidInput | NotFound | Forbidden,
    or_why_not("EndDrillResult", "The drill, ENDED, with its score card"),
]


@strawberry.input(
    description=(
        "What to play and how fast. Give `scenario` for a scripted crisis, or "
        "`replayIncidentId` (scenario REPLAY, or omitted) to play a past incident's mentions."
    )
)
class StartDrillInput:
    scenario: DrillScenario | None = strawberry.field(
        default=None, description="Null with `replayIncidentId`: REPLAY."
    )
    speed: float = strawberry.field(
        default=60.0, description="Stream seconds per wall second, 1–3600 (60: an hour a minute)."
    )
    delivery: DrillDelivery = strawberry.field(
        default=DrillDelivery.SUPPRESS,
        description="What the drill's webhooks and chat messages do: SUPPRESS (default) or LABEL.",
    )
    replay_incident_id: relay.GlobalID | None = None


@strawberry.input(description="The drill to end.")
class EndDrillInput:
    id: relay.GlobalID


DRILL = Target(tables.Drill, "Drill", "drill", "drill_id")
END = Change(DRILL, reread(tables.Drill, Drill.from_row, "Drill"), accept=(InvalidInput, NotFound))


def _scenario(input: StartDrillInput) -> DrillScenario | InvalidInput:
    if input.scenario is not None:
        return input.scenario
    if input.replay_incident_id is not None:
        return DrillScenario.REPLAY
    return InvalidInput(message="give a scenario or a replayIncidentId", field="scenario")


@strawberry.type
class DrillMutation:
    @strawberry.mutation(
        description=(
            "Start a drill on its own watchlist, which only its posts reach (`drill_id` at "
            "ingest; `crisiswatch drill` plays them). A bad speed answers InvalidInput on "
            "`speed`; an unknown incident to replay NotFound on `replayIncidentId`."
        )
    )
    async def start_drill(self, info: Info, input: StartDrillInput) -> StartDrillResult:
        scenario = _scenario(input)
        if isinstance(scenario, InvalidInput):
            return scenario
        if not 1.0 <= input.speed <= 3600.0:
            return InvalidInput(message="speed must be between 1 and 3600", field="speed")
        answer = await perform(
            info,
            StartDrill,
            created(tables.Drill, Drill.from_row, "Drill"),
            accept=(InvalidInput, NotFound),
            scenario=scenario,
            speed=input.speed,
            delivery=input.delivery,
            replay_incident_id=optional_id(
                input.replay_incident_id, "Incident", "replayIncidentId"
            ),
        )
        return cast(Drill | InvalidInput | NotFound | Forbidden, answer)

    @strawberry.mutation(
        description=(
            "End a drill and store its score card (deadlines met or missed, time to "
            "acknowledge, statements through review, participants); ending it again answers "
            "the same card."
        )
    )
    async def end_drill(self, info: Info, input: EndDrillInput) -> EndDrillResult:
        answer = await END(info, input.id, EndDrill)
        return cast(Drill | InvalidInput | NotFound | Forbidden, answer)
