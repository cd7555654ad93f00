"""Follow-ups that work: a schedule of visits with owners, outcomes and feedback recorded,
and the follow-up deadline pass that escalates a late visit to the incident's commander."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from arq.connections import ArqRedis
from sqlmodel import select

from libs.clock import FixedClock
from libs.contracts.enums import TeamRole
from libs.contracts.messages import CommandResult
from libs.contracts.response import CompleteFollowUp, UpdateFollowUp
from libs.database.engine import transaction
from libs.database.tables import FollowUpTask, Incident, IncidentMember, Person
from libs.messaging.sweep import Sweep
from libs.privacy import DataKey, generate_key
from services.incidents.aftercare import service as aftercare
from services.incidents.aftercare.deadlines import FOLLOW_UP_DEADLINES
from services.incidents.tests.builders import (
    NOW,
    add_user_command,
    events_of,
    stage_incident,
    timeline_of,
)
from tests.builders import Sessions, read_all

PHONE = "13800135678"


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


async def _person(sessions: Sessions, incident: Incident, name: str, **columns: Any) -> Person:
    async with transaction(sessions) as session:
        person = Person(organization_id=incident.organization_id, name=name, **columns)
        session.add(person)
    return person


async def _add(
    sessions: Sessions, incident: Incident, key: DataKey, **fields: Any
) -> CommandResult:
    async with transaction(sessions) as session:
        command = add_user_command(incident, contact=PHONE, **fields)
        outcome = await aftercare.add_affected_user(session, command, key, now=NOW)
    assert outcome.result is not None
    return outcome.result


async def _complete(
    sessions: Sessions, incident: Incident, task_id: str, at: datetime, **fields: Any
) -> CommandResult:
    command = CompleteFollowUp(
        organization_id=incident.organization_id,
        actor="key-cs",
        task_id=uuid.UUID(task_id),
        **fields,
    )
    async with transaction(sessions) as session:
        outcome = await aftercare.complete_follow_up(session, command, now=at)
    assert outcome.result is not None
    return outcome.result


def _refused(result: CommandResult) -> tuple[str, str | None] | None:
    return (result.error.code, result.error.field) if result.error else None


async def test_a_schedule_records_each_visit_its_outcome_and_masked_feedback(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = (await stage_incident(rolled_back)).incident
    owner = await _person(rolled_back, incident, "李娜")
    left = await _person(rolled_back, incident, "张伟", deactivated_at=NOW)

    backwards = await _add(rolled_back, incident, key, visit_offsets_hours=[48, 24])
    assert _refused(backwards) == ("Invalid", "visitOffsetsHours")
    inactive = await _add(rolled_back, incident, key, owner_person_id=left.id)
    assert _refused(inactive) == ("Invalid", "ownerPersonId")
    unknown = await _add(rolled_back, incident, key, complaint_id=uuid.uuid4())
    assert _refused(unknown) == ("NotFound", "complaintId")

    added = await _add(
        rolled_back, incident, key, visit_offsets_hours=[2, 72], owner_person_id=owner.id
    )
    assert added.ok, added.error
    visits = [task for task in added.data["tasks"] if task["kind"] == "follow_up"]
    assert [(task["visit"], task["due_at"]) for task in visits] == [
        (1, (NOW + timedelta(hours=2)).isoformat()),
        (2, (NOW + timedelta(hours=72)).isoformat()),
    ]
    assert {task["owner_person_id"] for task in visits} == {str(owner.id)}

    first = visits[0]["id"]
    at = NOW + timedelta(hours=1)
    unpaid = await _complete(
        rolled_back, incident, first, at, compensation_paid=False, paid_amount=200.0
    )
    assert _refused(unpaid) == ("Invalid", "paidAmount")
    bare = await _complete(rolled_back, incident, first, at, currency="CNY")
    assert _refused(bare) == ("Invalid", "currency")

    done = await _complete(
        rolled_back, incident, first, at,
        reached=True, satisfied=False, paid_amount=200.0, currency="CNY",
        feedback=f"包装太容易破，希望改进，回电 {PHONE}",
    )  # fmt: skip
    assert done.ok, done.error
    assert (done.data["reached"], done.data["satisfied"]) == (True, False)
    assert (done.data["compensation_paid"], done.data["paid_amount"]) == (True, 200.0)
    assert done.data["feedback"] == "包装太容易破，希望改进，回电 138****5678"
    [told] = await timeline_of(rolled_back, incident, "follow_up_done")
    assert told.message == "受影响用户王**的第1次回访已完成（已联系上，不满意，已补偿200CNY）"
    stored = await read_all(
        rolled_back, select(FollowUpTask).where(FollowUpTask.incident_id == incident.id)
    )
    assert PHONE not in json.dumps([task.model_dump(mode="json") for task in stored])


async def test_a_late_visit_is_escalated_to_the_commander_once(
    sessions: Sessions, redis: ArqRedis, key: DataKey
) -> None:
    incident = (await stage_incident(sessions)).incident
    owner = await _person(sessions, incident, "李娜")
    commander = await _person(sessions, incident, "王强")
    async with transaction(sessions) as session:
        session.add(
            IncidentMember(
                organization_id=incident.organization_id,
                incident_id=incident.id,
                role=TeamRole.COMMANDER.value,
                person=commander.name,
                person_id=commander.id,
            )
        )
    added = await _add(
        sessions, incident, key, visit_offsets_hours=[1, 48], owner_person_id=owner.id
    )
    first, second = (task["id"] for task in added.data["tasks"])

    def deadline_pass(at: datetime) -> Sweep:
        return Sweep(FOLLOW_UP_DEADLINES, sessions, redis, FixedClock(at),
                     interval=60.0, producer="incidents")  # fmt: skip

    assert await deadline_pass(NOW + timedelta(minutes=59)).run_once() == 0
    assert await deadline_pass(NOW + timedelta(hours=3)).run_once() == 1
    assert await deadline_pass(NOW + timedelta(hours=4)).run_once() == 0
    [told] = [e for e in await events_of(sessions, incident) if e.type == "follow_up.overdue"]
    assert told.payload["follow_up_id"] == first
    assert (told.payload["visit"], told.payload["hours_late"]) == (1, 2)
    assert (told.payload["owner"], told.payload["escalated_to"]) == ("李娜", ["王强"])
    assert told.payload["user"] == "王**" and PHONE not in json.dumps(told.payload)
    [late] = await timeline_of(sessions, incident, "follow_up_overdue")
    assert late.message == "受影响用户王**的第1次回访已逾期（负责人：李娜），已升级至：王强"
    async with transaction(sessions) as session:
        stored = await session.get(FollowUpTask, uuid.UUID(first))
        assert stored is not None
        assert (stored.overdue_at, stored.escalated_to_person_id) == (
            NOW + timedelta(hours=3), commander.id
        )  # fmt: skip

    # A new due time is watched afresh; a done visit cannot be moved.
    moved = UpdateFollowUp(
        organization_id=incident.organization_id, actor="key-cs", task_id=uuid.UUID(first),
        due_at=NOW + timedelta(hours=6),
    )  # fmt: skip
    async with transaction(sessions) as session:
        outcome = await aftercare.update_follow_up(session, moved, now=NOW + timedelta(hours=4))
    assert outcome.result is not None and outcome.result.ok, outcome.result
    assert await deadline_pass(NOW + timedelta(hours=5)).run_once() == 0
    assert await deadline_pass(NOW + timedelta(hours=7)).run_once() == 1

    # A visit done in time is never late.
    assert (await _complete(sessions, incident, second, NOW + timedelta(hours=5))).ok
    assert await deadline_pass(NOW + timedelta(days=3)).run_once() == 0
    done = UpdateFollowUp(
        organization_id=incident.organization_id, actor="key-cs", task_id=uuid.UUID(second),
        owner_person_id=owner.id,
    )  # fmt: skip
    async with transaction(sessions) as session:
        refused = await aftercare.update_follow_up(session, done, now=NOW + timedelta(days=3))
    assert refused.result is not None and refused.result.error is not None
    assert refused.result.error.code == "InvalidTransition"
