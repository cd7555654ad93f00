"""A drill and its score card, as clients read them."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON

from gateway.core.context import Info
from gateway.core.errors import REMOVAL
from gateway.core.nodes import LoadedNode
from gateway.core.rows import converted
from gateway.drills.loaders import DRILLS
from gateway.incidents.types import Incident
from gateway.watchlists.types import Watchlist
from libs.contracts.drills import label
from libs.contracts.enums import DrillDelivery, DrillScenario, DrillState

strawberry.enum(
    DrillScenario,
    description=(
        "What a drill plays: a scripted crisis (product safety, data leak, rumour) or REPLAY, "
        "a past incident's mentions again with new ids."
    ),
)
strawberry.enum(
    DrillDelivery,
    description=(
        "What happens to a drill's webhooks and chat messages: SUPPRESS sends none, LABEL "
        "sends them marked 【演练】 (`drill: true`)."
    ),
)
strawberry.enum(DrillState, description="RUNNING until `endDrill`, then ENDED with its score card.")


@strawberry.enum(
    description=(
        "How a task's deadline went in a drill: MET (done within its span), MISSED (done "
        "late, or not done and past due), or OPEN (not done and not due by the drill's end)."
    )
)
class DrillDeadlineOutcome(Enum):
    """A deadline's outcome, valued as the analysis service writes it into the score card.

    The gateway may not import the service's score card, so the three values are mirrored
    here; `tests/test_gateway_vocabulary.py` fails when they drift apart.
    """

    MET = "met"
    MISSED = "missed"
    OPEN = "open"


@strawberry.type(description="A task's deadline in a drill: the span it had, when it was done.")
class DrillDeadline:
    kind: str
    title: str
    allowed_seconds: float = strawberry.field(description="From detection to the deadline.")
    done_after_seconds: float | None = strawberry.field(
        description="Stream seconds from detection to done; null if not done."
    )
    outcome: str = strawberry.field(
        description="met, missed, or open (not due by the end).",
        deprecation_reason=f"Use `outcomeKind`; {REMOVAL}",
    )

    @strawberry.field(description="MET, MISSED, or OPEN (not done and not due by the end).")
    def outcome_kind(self) -> DrillDeadlineOutcome:
        return DrillDeadlineOutcome(self.outcome)


@strawberry.type(
    description=(
        "How a drill went, made the same way for every drill so drills compare; times are "
        "stream seconds (wall seconds × speed)."
    )
)
class DrillScoreCard:
    card: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="Every response task's deadline, by due time.")
    def deadlines(self) -> list[DrillDeadline]:
        return [
            DrillDeadline(
                kind=d["kind"],
                title=d["title"],
                allowed_seconds=d["allowed_seconds"],
                done_after_seconds=d["done_after_seconds"],
                outcome=d["outcome"],
            )
            for d in self.card.get("deadlines", [])
        ]

    @strawberry.field
    def deadlines_met(self) -> int:
        return int(self.card.get("deadlines_met", 0))

    @strawberry.field
    def deadlines_missed(self) -> int:
        return int(self.card.get("deadlines_missed", 0))

    @strawberry.field(description="From the first incident's detection to its acknowledgement.")
    def seconds_to_acknowledge(self) -> float | None:
        value = self.card.get("seconds_to_acknowledge")
        return float(value) if value is not None else None

    @strawberry.field
    def incidents_opened(self) -> int:
        return len(self.card.get("incidents", []))

    @strawberry.field
    def statements_drafted(self) -> int:
        return int(self.card.get("statements_drafted", 0))

    @strawberry.field(description="Statements approved through review (三级审核) or published.")
    def statements_through_review(self) -> int:
        return int(self.card.get("statements_through_review", 0))

    @strawberry.field(description="Who acted: person ids, or the key for a service account.")
    def participants(self) -> list[str]:
        return [str(p) for p in self.card.get("participants", [])]

    @strawberry.field(description="The whole card as stored (JSON), for export.")
    def document(self) -> JSON:
        return cast(JSON, self.card)


@strawberry.type(
    description=(
        "A drill (定期模拟演练): a crisis played through the real pipeline into its own "
        "watchlist. What it opens (incidents, tasks, events) is marked `drill`; dashboards and "
        "incident lists leave it out unless asked. Ending it stores a score card."
    )
)
class Drill(LoadedNode):
    ROWS = DRILLS
    CONVERTED = converted(scenario=DrillScenario, delivery=DrillDelivery, state=DrillState)

    scenario: DrillScenario
    speed: float = strawberry.field(description="Stream seconds played per wall second.")
    delivery: DrillDelivery
    state: DrillState
    started_by: str = strawberry.field(description="The person (or key) who started it.")
    started_at: datetime
    ended_at: datetime | None
    watchlist_id: strawberry.Private[uuid.UUID]
    replay_incident_id: strawberry.Private[uuid.UUID | None]
    score_card: strawberry.Private[dict[str, Any]]

    @strawberry.field(description="The scenario's Chinese name, e.g. 数据泄露.")
    def scenario_label(self) -> str:
        return label(self.scenario)

    @strawberry.field(name="scoreCard", description="The score card; null until ENDED.")
    def card(self) -> DrillScoreCard | None:
        if self.state is not DrillState.ENDED:
            return None
        return DrillScoreCard(card=self.score_card)

    @strawberry.field(description="The drill's own watchlist; only the drill's mentions reach it.")
    async def watchlist(self, info: Info) -> Watchlist | None:
        return await Watchlist.load(info, self.watchlist_id)

    @strawberry.field(description="The incident a REPLAY plays again; null otherwise.")
    async def replayed_incident(self, info: Info) -> Incident | None:
        if self.replay_incident_id is None:
            return None
        return await Incident.load(info, self.replay_incident_id)
