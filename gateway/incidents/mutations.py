"""War-room changes to an incident itself: acknowledge, status, tier, team and key facts.

Each is the matching command, answered by the incidents service; the incident is read back
afresh after success.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.commands import INCIDENT, RESPONSE_IDS, Change, reread, run
from gateway.core.context import Info
from gateway.core.enums import IncidentStatus, TeamRole, Tier
from gateway.core.errors import (
    AnyRefusal,
    Forbidden,
    GatewayError,
    InvalidInput,
    InvalidTransition,
    NotFound,
    or_why_not,
)
from gateway.core.owned import owned
from gateway.incidents.types import Incident
from libs.contracts.messages import AcknowledgeIncident, CommandResult
from libs.contracts.response import AssignRole, ChangeIncidentTier, SetKeyFacts, TransitionIncident
from libs.database import tables

AcknowledgeIncidentResult = Annotated[
    Incident | NotFound | InvalidTransition | Forbidden,
    or_why_not("AcknowledgeIncidentResult", "The acknowledged incident"),
]
IncidentResult = Annotated[
    Incident | AnyRefusal, or_why_not("IncidentResult", "The changed incident")
]


@strawberry.input(description="A fact every statement must carry the same way.")
class KeyFactInput:
    label: str
    value: str


_changed = reread(tables.Incident, Incident.from_row, "Incident")
CHANGE = Change(INCIDENT, _changed, renames=RESPONSE_IDS)
ACKNOWLEDGE = Change(
    INCIDENT,
    reread(tables.Incident, Incident.from_row, "Incident", done="acknowledged"),
    accept=(NotFound, InvalidTransition),
)


@strawberry.type
class IncidentMutation:
    @strawberry.mutation(description="Acknowledge an incident: monitoring has started.")
    async def acknowledge_incident(
        self, info: Info, id: relay.GlobalID, note: str | None = None
    ) -> AcknowledgeIncidentResult:
        answer = await ACKNOWLEDGE(info, id, AcknowledgeIncident, note=note)
        if isinstance(answer, InvalidInput):
            # The answer has no InvalidInput member: a note the contract refuses is an error.
            raise GatewayError(answer.message)
        return cast(Incident | NotFound | InvalidTransition | Forbidden, answer)

    @strawberry.mutation(
        description=(
            "Move an incident to another status (assessing, responding, recovering, resolved, "
            "closed, merged, false alarm); `mergeIntoId` names the incident it joins when "
            "merged. A move the lifecycle forbids answers InvalidTransition with the current "
            "status; resolving drafts the review report."
        )
    )
    async def transition_incident(
        self,
        info: Info,
        id: relay.GlobalID,
        to_status: IncidentStatus,
        reason: str | None = None,
        merge_into_id: relay.GlobalID | None = None,
    ) -> IncidentResult:
        incident = await INCIDENT.for_change(info, id)
        if isinstance(incident, (Forbidden, NotFound)):
            return incident
        merge_into = None
        if merge_into_id is not None:
            target = await owned(info, tables.Incident, merge_into_id, "Incident")
            if target is None:
                return InvalidInput(
                    message=f"No incident with id {merge_into_id} to merge into.",
                    field="mergeIntoId",
                )
            merge_into = target.id
        result = await run(
            info,
            TransitionIncident,
            status_of=incident.id,
            renames=RESPONSE_IDS,
            incident_id=incident.id,
            to_status=to_status,
            reason=reason,
            merge_into_id=merge_into,
        )
        if not isinstance(result, CommandResult):
            return result
        return await _changed(info, incident, result)

    @strawberry.mutation(
        description=(
            "Raise or lower an incident's tier by hand, with a reason; raising adds the "
            "higher tier's playbook tasks."
        )
    )
    async def change_incident_tier(
        self, info: Info, id: relay.GlobalID, tier: Tier, reason: str
    ) -> IncidentResult:
        return await CHANGE(info, id, ChangeIncidentTier, tier=tier, reason=reason)

    @strawberry.mutation(description="Put a person in a role on the incident's team.")
    async def assign_role(
        self, info: Info, incident_id: relay.GlobalID, role: TeamRole, person: str
    ) -> IncidentResult:
        return await CHANGE(info, incident_id, AssignRole, role=role, person=person)

    @strawberry.mutation(
        description=(
            "Replace the incident's key facts: the facts every channel's statement must carry "
            "the same way (一致性原则). Statements are checked against them again."
        )
    )
    async def set_key_facts(
        self, info: Info, incident_id: relay.GlobalID, facts: list[KeyFactInput]
    ) -> IncidentResult:
        # A refusal names the nested entry, e.g. `facts[1].value`.
        entries = [{"label": fact.label, "value": fact.value} for fact in facts]
        return await CHANGE(info, incident_id, SetKeyFacts, facts=entries)
