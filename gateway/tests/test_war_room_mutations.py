"""War-room and webhook mutations the gateway refuses on its own, and how it maps refusals.

What the incidents and notify services do with each command is checked against the real
workers in `tests/gateway`. Here no worker runs: each refusal is the gateway's own, so
nothing may be sent. The mapping of a service's refusal is checked as a pure function for
the kinds no real service answers (an unknown code, a transition refused where no status
applies).
"""

import dataclasses
from typing import Any

import pytest
from arq.connections import ArqRedis

from gateway.core.commands import refusal
from gateway.core.enums import RefusalCode
from gateway.core.errors import GatewayError
from gateway.tests.conftest import GraphQL, gid, queued_for
from gateway.tests.war_room_ops import CODED, OPS, Seed, seed
from libs.contracts.enums import Role
from libs.contracts.messages import EVENTS_QUEUE, INCIDENTS_QUEUE, CommandResult
from tests.builders import Sessions, Tenant


async def run(gql: GraphQL, tenant: Tenant, role: Role, name: str, at: Seed) -> dict[str, Any]:
    """Send mutation `name` for `at` with `role`'s key and return its result object."""
    body = await gql(tenant.auth(role), OPS[name].document, OPS[name].variables(at))
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"][name]
    return result


async def test_input_the_contract_rejects_is_refused_naming_the_field_without_sending(
    gql: GraphQL, redis: ArqRedis, sessions: Sessions, acme: Tenant
) -> None:
    at = await seed(sessions, acme.org.id)
    responder = acme.auth(Role.RESPONDER)
    blank_reason = await gql(
        responder,
        OPS["changeIncidentTier"].document,
        {**OPS["changeIncidentTier"].variables(at), "reason": ""},
    )
    blank_fact = await gql(
        responder,
        OPS["setKeyFacts"].document,
        {
            "id": gid("Incident", at.incident),
            "facts": [{"label": "批次", "value": "1"}, {"label": "原因", "value": ""}],
        },
    )
    bad_task = await gql(
        acme.auth(Role.ADMIN),
        OPS["setPlaybook"].document,
        {
            "input": {
                "tier": "RED",
                "team": [{"role": "LEGAL"}],
                "tasks": [
                    {"kind": "Legal Review", "title": "法务", "dueAfterMinutes": 5, "role": "LEGAL"}
                ],
            }
        },
    )
    assert blank_reason["data"]["changeIncidentTier"]["field"] == "reason"
    assert blank_fact["data"]["setKeyFacts"]["field"] == "facts[1].value"
    assert bad_task["data"]["setPlaybook"]["field"] == "tasks[0].kind"
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []


# Viewers may change nothing; responders may not touch playbooks and webhooks.
FORBIDDEN = [
    pytest.param(Role.VIEWER, name, "A key with role `viewer` may", id=f"viewer-{name}")
    for name in OPS
] + [
    pytest.param(
        Role.RESPONDER, name, "A key with role `responder` may not", id=f"responder-{name}"
    )
    for name, op in OPS.items()
    if op.admin_only
]


@pytest.mark.parametrize(("role", "name", "says"), FORBIDDEN)
async def test_a_key_that_may_not_send_a_mutation_is_forbidden_and_nothing_is_sent(
    gql: GraphQL,
    redis: ArqRedis,
    sessions: Sessions,
    acme: Tenant,
    role: Role,
    name: str,
    says: str,
) -> None:
    at = await seed(sessions, acme.org.id)
    result = await run(gql, acme, role, name, at)
    assert result["__typename"] == "Forbidden"
    assert result["message"].startswith(says)
    # The input forms select the refusal's code; the positional ones never did.
    assert result.get("code") == ("FORBIDDEN" if OPS[name].refusals.startswith(CODED) else None)
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []
    assert await queued_for(redis, EVENTS_QUEUE, acme) == []


@pytest.mark.parametrize("name", [name for name, o in OPS.items() if o.takes_ids])
async def test_another_organizations_ids_are_not_found_without_sending(
    gql: GraphQL, redis: ArqRedis, sessions: Sessions, acme: Tenant, rival: Tenant, name: str
) -> None:
    at = await seed(sessions, acme.org.id)
    result = await run(gql, rival, Role.ADMIN, name, at)
    assert result["__typename"] == "NotFound"
    assert result.get("code") == ("NOT_FOUND" if OPS[name].refusals.startswith(CODED) else None)
    assert await queued_for(redis, INCIDENTS_QUEUE, rival) == []
    assert await queued_for(redis, EVENTS_QUEUE, rival) == []


async def test_merging_into_another_organizations_incident_is_refused_on_the_field(
    gql: GraphQL, redis: ArqRedis, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    mine = await seed(sessions, acme.org.id)
    theirs = await seed(sessions, rival.org.id)
    result = await gql(
        acme.auth(Role.RESPONDER),
        OPS["transitionIncident"].document,
        {**OPS["transitionIncident"].variables(mine), "into": gid("Incident", theirs.incident)},
    )
    refused = result["data"]["transitionIncident"]
    assert refused["__typename"] == "InvalidInput" and refused["field"] == "mergeIntoId"
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []


def test_a_transition_refused_where_no_incident_applies_carries_no_status() -> None:
    # Snoozes, playbooks, replies and webhooks name no incident whose status could be shown;
    # no service refuses them as a transition today, so the mapping is pinned here alone.
    mapped = refusal(
        CommandResult.failure("InvalidTransition", "not now", "watchlist_id"), service="incidents"
    )
    assert (type(mapped).__name__, dataclasses.asdict(mapped)) == (
        "InvalidTransition",
        {"message": "not now", "code": RefusalCode.INVALID_TRANSITION, "current_status": None},
    )


def test_an_unknown_refusal_code_is_an_error_naming_the_service() -> None:
    # No service answers a code outside the contract's; the gateway must still fail loudly.
    with pytest.raises(GatewayError) as raised:
        refusal(CommandResult.failure("Exploded", "disk full"), service="incidents")
    assert str(raised.value) == "The incidents service refused the command: disk full"
