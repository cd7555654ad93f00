"""Changes to incidents as the incidents service commits them, one per timeline event."""

# strawberry types `subscription(description=...)` as returning Any, so its decorators
# are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.inputs import optional_id
from gateway.core.live import facts_or_none, follow, require_visible, start
from gateway.core.reads import Loaders
from gateway.incidents.loaders import EVENTS, INCIDENTS
from gateway.incidents.types import REMOVAL, Incident, TimelineEvent, TimelineEventKind
from gateway.live_hub import Accept
from libs.messaging import live


@strawberry.type(description="One change to an incident, delivered as it is committed.")
class IncidentUpdate:
    incident: Incident = strawberry.field(description="The incident as it is now.")
    change: str = strawberry.field(
        description=(
            "What changed: the kind of the timeline event that recorded it, e.g. opened, "
            "signal, tier_changed, status_changed, task_done, task_overdue, member_assigned."
        ),
        deprecation_reason=f"Use `changeKind`; {REMOVAL}.",
    )
    at: datetime = strawberry.field(description="When the change happened.")
    event_id: strawberry.Private[uuid.UUID]

    @strawberry.field(
        description=(
            "What changed: the `eventKind` of the timeline event that recorded it (OPENED, "
            "TIER_CHANGED, STATUS_CHANGED, TASK_DONE, TASK_OVERDUE…)."
        )
    )
    def change_kind(self) -> TimelineEventKind:
        return TimelineEventKind.of(self.change)

    @strawberry.field(description="The timeline event that recorded the change.")
    async def event(self, info: Info) -> TimelineEvent | None:
        return await TimelineEvent.load(info, self.event_id)


def _accept(incident_id: uuid.UUID | None) -> Accept:
    def accept(notice: live.Notice) -> bool:
        facts = facts_or_none(live.IncidentFacts.of, notice, live.LiveKind.INCIDENT)
        return facts is not None and (incident_id is None or notice.id == incident_id)

    return accept


async def _deliver(loaders: Loaders, notices: Sequence[live.Notice]) -> list[IncidentUpdate]:
    rows = await loaders.of(INCIDENTS).load_many(list(dict.fromkeys(n.id for n in notices)))
    incidents = {row.id: Incident.from_row(row) for row in rows if row is not None}
    updates = []
    for notice in notices:
        incident = incidents.get(notice.id)
        if incident is None:
            continue
        facts = live.IncidentFacts.of(notice)
        updates.append(
            IncidentUpdate(
                incident=incident, change=facts.change, at=facts.at, event_id=facts.event_id
            )
        )
    await loaders.of(EVENTS).load_many([u.event_id for u in updates])
    return updates


@strawberry.type
class IncidentSubscription:
    @strawberry.subscription(
        description=(
            "Changes to incidents as the incidents service commits them: one update per "
            "timeline event (opened, tier or status changed, task done or overdue…)."
        )
    )
    async def incident_updates(
        self,
        info: Info,
        incident_id: Annotated[
            relay.GlobalID | None,
            strawberry.argument(description="Only this incident; all of yours if omitted."),
        ] = None,
    ) -> AsyncIterator[IncidentUpdate]:
        followed = optional_id(incident_id, "Incident", "incidentId")
        context = await start(info)
        await require_visible(Incident.load, info, followed, "incident", "incidentId")
        return follow(context, _accept(followed), _deliver)
