"""Affected users: contacts encrypted at rest, masked everywhere, follow-ups as tasks."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import ContactKind
from libs.contracts.messages import CommandResult
from libs.contracts.response import AddAffectedUser, CompleteFollowUp
from libs.database.engine import transaction
from libs.database.tables import AffectedUser, FollowUpTask, Incident, TimelineEvent
from libs.privacy import DataKey, DecryptionError, generate_key
from services.incidents.aftercare import service as affected
from services.incidents.tests.builders import (
    DETECTED_AT,
    add_user_command,
    make_org,
    stage_incident,
    timeline_of,
)
from tests.builders import Sessions, read_all

NOW = DETECTED_AT + timedelta(hours=3)
PHONE = "138 0013 5678"
ID_CARD = "11010519491231002X"


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


async def _incident(sessions: Sessions) -> Incident:
    return (await stage_incident(sessions)).incident


def _add(incident: Incident, **overrides: Any) -> AddAffectedUser:
    fields = {"name": "欧阳娜娜", "contact": PHONE, "compensation_amount": 300.0}
    return add_user_command(incident, "key-cs", **(fields | overrides))


async def _run_add(
    sessions: async_sessionmaker[AsyncSession], command: AddAffectedUser, key: DataKey
) -> CommandResult:
    async with transaction(sessions) as session:
        outcome = await affected.add_affected_user(session, command, key, now=NOW)
    assert outcome.result is not None and not outcome.messages
    return outcome.result


Row = TypeVar("Row", AffectedUser, FollowUpTask, TimelineEvent)


async def _rows(
    sessions: async_sessionmaker[AsyncSession], table: type[Row], incident: Incident
) -> list[Row]:
    return await read_all(sessions, select(table).where(table.incident_id == incident.id))


async def test_adding_a_user_stores_the_contact_encrypted_and_answers_it_masked(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)

    result = await _run_add(rolled_back, _add(incident), key)

    assert result.ok, result.error
    assert result.data["name"] == "欧阳**"
    assert result.data["contact"] == "138****5678"
    assert result.data["contact_kind"] == "phone"
    tasks = {(task["kind"], task["visit"]): task for task in result.data["tasks"]}
    # The default schedule: a visit a day later and one a week later.
    assert tasks["follow_up", 1]["due_at"] == (NOW + timedelta(hours=24)).isoformat()
    assert tasks["follow_up", 2]["due_at"] == (NOW + timedelta(hours=168)).isoformat()
    assert tasks["compensation", None]["amount"] == 300.0
    assert all(task["status"] == "open" for task in tasks.values())

    [user] = await _rows(rolled_back, AffectedUser, incident)
    assert user.name_masked == "欧阳**" and user.contact_masked == "138****5678"
    assert b"13800135678" not in user.contact_cipher and b"5678" not in user.contact_cipher
    stored_tasks = await _rows(rolled_back, FollowUpTask, incident)
    assert sorted(task.kind for task in stored_tasks) == ["compensation", "follow_up", "follow_up"]
    assert all(task.affected_user_id == user.id for task in stored_tasks)

    [event] = await _rows(rolled_back, TimelineEvent, incident)
    assert event.kind == "affected_user_added" and event.actor == "key-cs"
    assert event.message == "登记受影响用户欧阳**（138****5678），安排2次回访及补偿300元"
    exposed = json.dumps(result.data, ensure_ascii=False) + event.message + json.dumps(event.data)
    for secret in ("13800135678", "138 0013 5678", "欧阳娜娜", "娜娜"):
        assert secret not in exposed

    async with transaction(rolled_back) as session:
        clear = await affected.reveal_contact(session, incident.organization_id, user.id, key)
    assert clear == "13800135678"


async def test_follow_up_due_time_is_kept_and_no_compensation_without_an_amount(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)
    due = datetime(2025, 3, 2, 2, 0, tzinfo=UTC)

    result = await _run_add(
        rolled_back,
        _add(
            incident,
            contact_kind=ContactKind.EMAIL,
            contact="Li.Lei@Example.com",
            name="李雷",
            follow_up_due_at=due,
            compensation_amount=None,
        ),
        key,
    )

    assert result.ok, result.error
    assert result.data["name"] == "李*" and result.data["contact"] == "L***@example.com"
    [task] = result.data["tasks"]
    assert task["kind"] == "follow_up" and task["due_at"] == due.isoformat()
    [user] = await _rows(rolled_back, AffectedUser, incident)
    async with rolled_back() as session:
        clear = await affected.reveal_contact(session, incident.organization_id, user.id, key)
    assert clear == "Li.Lei@example.com"


@pytest.mark.parametrize(
    ("kind", "contact", "reason"),
    [
        (ContactKind.PHONE, "12800135678", "not a phone number"),
        (ContactKind.PHONE, "+86 1380013567", "not a mainland mobile"),
        (ContactKind.EMAIL, "li.lei at example.com", "not an e-mail"),
        (ContactKind.ID_CARD, "110105194912310021", "checksum"),
        (ContactKind.ID_CARD, "1101051949123100", "17 digits"),
    ],
)
async def test_a_contact_that_does_not_fit_its_kind_is_refused_on_the_contact_field(
    rolled_back: Sessions,
    key: DataKey,
    kind: ContactKind,
    contact: str,
    reason: str,
) -> None:
    incident = await _incident(rolled_back)

    result = await _run_add(rolled_back, _add(incident, contact_kind=kind, contact=contact), key)

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("Invalid", "contact")
    assert reason in result.error.message and contact not in result.error.message
    assert await _rows(rolled_back, AffectedUser, incident) == []
    assert await _rows(rolled_back, FollowUpTask, incident) == []


async def test_an_id_card_is_accepted_with_its_checksum_and_masked(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)

    result = await _run_add(
        rolled_back, _add(incident, contact_kind=ContactKind.ID_CARD, contact=ID_CARD.lower()), key
    )

    assert result.ok, result.error
    assert result.data["contact"] == "110105********002X"


async def test_another_organization_cannot_add_to_or_read_from_an_incident(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)
    other = await make_org(rolled_back)
    added = await _run_add(rolled_back, _add(incident), key)
    user_id = uuid.UUID(added.data["id"])

    result = await _run_add(rolled_back, _add(incident, organization_id=other), key)

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("NotFound", "incidentId")
    async with rolled_back() as session:
        assert await affected.reveal_contact(session, other, user_id, key) is None


async def test_a_ciphertext_copied_onto_another_user_does_not_decrypt(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)
    first = await _run_add(rolled_back, _add(incident), key)
    second = await _run_add(rolled_back, _add(incident, name="韩梅梅", contact="13912345678"), key)
    async with transaction(rolled_back) as session:
        source = await session.get(AffectedUser, uuid.UUID(first.data["id"]))
        target = await session.get(AffectedUser, uuid.UUID(second.data["id"]))
        assert source is not None and target is not None
        target.contact_cipher = source.contact_cipher
        session.add(target)

    async with rolled_back() as session:
        with pytest.raises(DecryptionError):
            await affected.reveal_contact(session, incident.organization_id, target.id, key)
        with pytest.raises(DecryptionError):
            other_key = DataKey.from_base64(generate_key())
            await affected.reveal_contact(session, incident.organization_id, source.id, other_key)


async def test_revealing_with_an_actor_leaves_a_trace_without_the_value(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)
    added = await _run_add(rolled_back, _add(incident), key)

    async with transaction(rolled_back) as session:
        clear = await affected.reveal_contact(
            session,
            incident.organization_id,
            uuid.UUID(added.data["id"]),
            key,
            actor="key-cs",
            now=NOW,
        )

    assert clear == "13800135678"
    events = await _rows(rolled_back, TimelineEvent, incident)
    [trace] = [event for event in events if event.kind == "contact_revealed"]
    assert trace.message == "key-cs查看了受影响用户欧阳**的联系方式"
    assert "13800135678" not in trace.message + json.dumps(trace.data)


async def test_completing_a_follow_up_once_masks_its_note_and_is_idempotent(
    rolled_back: Sessions, key: DataKey
) -> None:
    incident = await _incident(rolled_back)
    added = await _run_add(rolled_back, _add(incident), key)
    follow_up = next(task for task in added.data["tasks"] if task["kind"] == "follow_up")
    command = CompleteFollowUp(
        organization_id=incident.organization_id,
        actor="key-cs",
        task_id=uuid.UUID(follow_up["id"]),
        note="已电话回访 13800135678，用户接受致歉",
    )
    done_at = NOW + timedelta(hours=2)

    for _ in range(2):
        async with transaction(rolled_back) as session:
            outcome = await affected.complete_follow_up(session, command, now=done_at)
        assert outcome.result is not None and outcome.result.ok, outcome.result
        assert outcome.result.data["status"] == "done"
        assert outcome.result.data["completed_at"] == done_at.isoformat()
        assert outcome.result.data["note"] == "已电话回访 138****5678，用户接受致歉"

    done = await timeline_of(rolled_back, incident, "follow_up_done")
    assert len(done) == 1
    assert (
        done[0].message
        == "受影响用户欧阳**的第1次回访已完成，备注：已电话回访 138****5678，用户接受致歉"
    )

    listed = await _list(rolled_back, incident)
    [user] = listed
    statuses = {(task["kind"], task["visit"]): task["status"] for task in user["tasks"]}
    assert statuses == {
        ("follow_up", 1): "done",
        ("follow_up", 2): "open",
        ("compensation", None): "open",
    }
    assert "13800135678" not in json.dumps(listed)

    missing = CompleteFollowUp(
        organization_id=incident.organization_id, actor="key-cs", task_id=uuid.uuid4()
    )
    async with transaction(rolled_back) as session:
        outcome = await affected.complete_follow_up(session, missing, now=done_at)
    assert outcome.result is not None and outcome.result.error is not None
    assert (outcome.result.error.code, outcome.result.error.field) == ("NotFound", "taskId")


async def _list(
    sessions: async_sessionmaker[AsyncSession], incident: Incident
) -> list[dict[str, Any]]:
    async with sessions() as session:
        return await affected.list_affected_users(session, incident.organization_id, incident.id)
