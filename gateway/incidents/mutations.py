"""War-room changes to an incident itself: acknowledge, status, tier, team and key facts.

Each is the matching command, answered by the incidents service; the incident is read back
afresh after success. Each takes `input:`; the positional forms it replaced stay, deprecated,
until the removal date (docs/graphql.md, the mutation convention).
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from typing import Annotated, cast

import strawberry
from strawberry import relay

from gateway.core.command_duty import refused_unless_commanding
from gateway.core.commands import INCIDENT, RESPONSE_IDS, Change, Refused, reread, run
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
    superseded_by,
)
from gateway.core.inputs import input_fields, local_id
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


@strawberry.input(description="The incident to acknowledge, and a note for its timeline.")
class IncidentAcknowledgeInput:
    id: relay.GlobalID
    note: str | None = None


@strawberry.input(description="Where an incident moves, and why.")
class IncidentTransitionInput:
    id: relay.GlobalID
    to_status: IncidentStatus
    reason: str | None = None
    merge_into_id: relay.GlobalID | None = strawberry.field(
        default=None, description="The incident this one joins; required to move to MERGED."
    )


@strawberry.input(description="An incident's new tier and the reason for it.")
class IncidentChangeTierInput:
    id: relay.GlobalID
    tier: Tier
    reason: str


@strawberry.input(description="A person to put in a role on an incident's team.")
class IncidentAssignRoleInput:
    id: relay.GlobalID
    role: TeamRole
    person: str


@strawberry.input(description="The key facts that replace an incident's current ones.")
class IncidentSetKeyFactsInput:
    id: relay.GlobalID
    facts: list[KeyFactInput]


_changed = reread(tables.Incident, Incident.from_row, "Incident")


async def _assign(
    info: Info, incident_id: relay.GlobalID, role: TeamRole, person: str
) -> IncidentResult:
    """Assign a team role; naming a commander is kept to admins and the commander."""
    local = local_id(incident_id, "Incident")
    if role is TeamRole.COMMANDER and local is not None:
        refused = await refused_unless_commanding(info, local, "name a commander")
        if refused is not None:
            return refused
    return await CHANGE(info, incident_id, AssignRole, role=role, person=person)


CHANGE = Change(INCIDENT, _changed, renames=RESPONSE_IDS)
_acknowledged = reread(tables.Incident, Incident.from_row, "Incident", done="acknowledged")
ACKNOWLEDGE = Change(INCIDENT, _acknowledged, accept=(NotFound, InvalidTransition))
ACKNOWLEDGE_WITH_INPUT = Change(INCIDENT, _acknowledged, renames=RESPONSE_IDS)


async def _transition(info: Info, input: IncidentTransitionInput) -> Incident | Forbidden | Refused:
    """Move the incident, after checking the one it merges into is the caller's."""
    incident = await INCIDENT.for_change(info, input.id)
    if isinstance(incident, (Forbidden, NotFound)):
        return incident
    merge_into = None
    if input.merge_into_id is not None:
        target = await owned(info, tables.Incident, input.merge_into_id, "Incident")
        if target is None:
            return InvalidInput(
                message=f"No incident with id {input.merge_into_id} to merge into.",
                field="mergeIntoId",
            )
        merge_into = target.id
    result = await run(
        info,
        TransitionIncident,
        status_of=incident.id,
        renames=RESPONSE_IDS,
        incident_id=incident.id,
        to_status=input.to_status,
        reason=input.reason,
        merge_into_id=merge_into,
    )
    if not isinstance(result, CommandResult):
        return result
    return await _changed(info, incident, result)


def _facts(facts: list[KeyFactInput]) -> list[dict[str, str]]:
    """The facts as the command takes them; a refusal names the entry, e.g. `facts[1].value`."""
    return [{"label": fact.label, "value": fact.value} for fact in facts]


TRANSITION = (
    "Move an incident to another status (assessing, responding, recovering, resolved, closed, "
    "merged, false alarm); `mergeIntoId` names the incident it joins when merged. A move the "
    "lifecycle forbids answers InvalidTransition with the current status; resolving drafts "
    "the review report."
)
CHANGE_TIER = (
    "Raise or lower an incident's tier by hand, with a reason; raising adds the higher tier's "
    "playbook tasks."
)
SET_KEY_FACTS = (
    "Replace the incident's key facts: the facts every channel's statement must carry the same "
    "way (一致性原则). Statements are checked against them again."
)


@strawberry.type
class IncidentMutation:
    @strawberry.mutation(
        description="Acknowledge an incident: monitoring has started.",
        deprecation_reason=superseded_by("incidentAcknowledge"),
    )
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
            "Acknowledge an incident: monitoring has started. Acknowledging again answers the "
            "incident unchanged."
        )
    )
    async def incident_acknowledge(
        self, info: Info, input: IncidentAcknowledgeInput
    ) -> IncidentResult:
        return await ACKNOWLEDGE_WITH_INPUT(info, input.id, AcknowledgeIncident, note=input.note)

    @strawberry.mutation(
        description=TRANSITION, deprecation_reason=superseded_by("incidentTransition")
    )
    async def transition_incident(
        self,
        info: Info,
        id: relay.GlobalID,
        to_status: IncidentStatus,
        reason: str | None = None,
        merge_into_id: relay.GlobalID | None = None,
    ) -> IncidentResult:
        given = IncidentTransitionInput(
            id=id, to_status=to_status, reason=reason, merge_into_id=merge_into_id
        )
        return await _transition(info, given)

    @strawberry.mutation(description=TRANSITION)
    async def incident_transition(
        self, info: Info, input: IncidentTransitionInput
    ) -> IncidentResult:
        return await _transition(info, input)

    @strawberry.mutation(
        description=CHANGE_TIER, deprecation_reason=superseded_by("incidentChangeTier")
    )
    async def change_incident_tier(
        self, info: Info, id: relay.GlobalID, tier: Tier, reason: str
    ) -> IncidentResult:
        return await CHANGE(info, id, ChangeIncidentTier, tier=tier, reason=reason)

    @strawberry.mutation(description=CHANGE_TIER)
    async def incident_change_tier(
        self, info: Info, input: IncidentChangeTierInput
    ) -> IncidentResult:
        return await CHANGE(info, input.id, ChangeIncidentTier, **input_fields(input, but=("id",)))

    @strawberry.mutation(
        description="Put a person in a role on the incident's team.",
        deprecation_reason=superseded_by("incidentAssignRole"),
    )
    async def assign_role(
        self, info: Info, incident_id: relay.GlobalID, role: TeamRole, person: str
    ) -> IncidentResult:
        return await _assign(info, incident_id, role, person)

    @strawberry.mutation(description="Put a person in a role on the incident's team.")
    async def incident_assign_role(
        self, info: Info, input: IncidentAssignRoleInput
    ) -> IncidentResult:
        return await _assign(info, input.id, input.role, input.person)

    @strawberry.mutation(
        description=SET_KEY_FACTS, deprecation_reason=superseded_by("incidentSetKeyFacts")
    )
    async def set_key_facts(
        self, info: Info, incident_id: relay.GlobalID, facts: list[KeyFactInput]
    ) -> IncidentResult:
        return await CHANGE(info, incident_id, SetKeyFacts, facts=_facts(facts))

    @strawberry.mutation(description=SET_KEY_FACTS)
    async def incident_set_key_facts(
        self, info: Info, input: IncidentSetKeyFactsInput
    ) -> IncidentResult:
        return await CHANGE(info, input.id, SetKeyFacts, facts=_facts(input.facts))
