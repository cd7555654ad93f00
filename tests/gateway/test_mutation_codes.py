"""Expected refusals carry a machine `code`, end to end through the real incidents worker.

Each refusal here is the answer of the `input:` form of a war-room mutation: the service's
own verdicts (a lifecycle move it forbids, a channel already spoken for) and the gateway's
(input the contract rejects, another organization's id, a key that may only read).
"""

from typing import Any

from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import ACKNOWLEDGE, ACKNOWLEDGE_INPUT, OPS
from libs.contracts.enums import Role
from tests.gateway.builders import System, WarRoom, war_room


async def answer(
    system: System, room: WarRoom, field: str, given: dict[str, Any], role: Role = Role.RESPONDER
) -> dict[str, Any]:
    """Send the input form `field` with `given` as its input and return its answer."""
    return await system.mutate(room.tenant, role, OPS[field].document, {"input": given})


async def test_refusals_of_the_input_forms_carry_their_code(system: System) -> None:
    room = await war_room(system)
    rival = await war_room(system, "rival")
    incident = gid("Incident", room.incident)
    statement = {"incidentId": incident, "channel": "WEIBO", "body": "我们已关注到相关反馈。"}

    skipped = await answer(
        system, room, "incidentTransition", {"id": incident, "toStatus": "CLOSED"}
    )
    drafted = await answer(system, room, "statementDraft", statement)
    again = await answer(system, room, "statementDraft", statement)
    blank = await answer(
        system, room, "incidentChangeTier", {"id": incident, "tier": "RED", "reason": ""}
    )
    foreign = await answer(
        system, room, "responseTaskComplete", {"id": gid("ResponseTask", rival.tasks[0])}
    )
    viewer = await answer(system, room, "statementDraft", statement, Role.VIEWER)

    assert skipped == {
        "__typename": "InvalidTransition",
        "code": "INVALID_TRANSITION",
        "message": "cannot move an incident that is detected to closed: "
        "from detected it can move to acknowledged, merged, false_alarm",
        "currentStatus": "DETECTED",
    }
    assert drafted["__typename"] == "Statement"
    assert again["__typename"] == "Conflict"
    assert (again["code"], again["field"]) == ("CONFLICT", "channel")
    assert blank["__typename"] == "InvalidInput"
    assert (blank["code"], blank["field"]) == ("INVALID_INPUT", "reason")
    assert (foreign["__typename"], foreign["code"]) == ("NotFound", "NOT_FOUND")
    assert (viewer["__typename"], viewer["code"]) == ("Forbidden", "FORBIDDEN")


async def test_a_note_too_long_is_an_error_positionally_and_invalid_input_as_input(
    system: System,
) -> None:
    # The positional form's result has no InvalidInput member; the input form answers one.
    room = await war_room(system)
    incident = gid("Incident", room.incident)
    note = "很" * 2001
    positional = await system.post(
        room.tenant.auth(Role.RESPONDER), ACKNOWLEDGE, {"id": incident, "note": note}
    )
    given = await system.mutate(
        room.tenant, Role.RESPONDER, ACKNOWLEDGE_INPUT, {"input": {"id": incident, "note": note}}
    )
    assert positional["data"] is None
    assert [error["path"] for error in positional["errors"]] == [["acknowledgeIncident"]]
    assert given["__typename"] == "InvalidInput"
    assert (given["code"], given["field"]) == ("INVALID_INPUT", "note")
