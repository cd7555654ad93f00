"""Improvement actions with a life: statuses, owners who are people, watched deadlines, and
recurrences that reopen only what was not finished."""

import uuid
from datetime import datetime, timedelta

from arq.connections import ArqRedis
from sqlmodel import select

from libs.clock import FixedClock
from libs.contracts.enums import CrisisType, ImprovementStatus, IncidentStatus, Tier
from libs.contracts.response import UpdateImprovementAction
from libs.database.engine import transaction
from libs.database.tables import ImprovementAction, Incident, Person
from libs.messaging.sweep import Sweep
from services.incidents.repository import belonging_to
from services.incidents.review import improvements
from services.incidents.tests.builders import (
    NOW,
    apply,
    events_of,
    force,
    landed,
    make_signal,
    make_watchlist,
    open_incident,
    run,
    timeline_of,
)
from tests.builders import Sessions

S = ImprovementStatus


async def _action(
    sessions: Sessions,
    incident: Incident,
    text: str,
    status: S = S.OPEN,
    due_at: datetime | None = None,
) -> ImprovementAction:
    async with transaction(sessions) as session:
        action = ImprovementAction(
            **belonging_to(incident),
            watchlist_id=incident.watchlist_id,
            action=text,
            owner="品控部",
            status=status.value,
            due_at=due_at,
        )
        session.add(action)
    return action


async def _move(
    sessions: Sessions, action: ImprovementAction, at: datetime, **fields: object
) -> tuple[str | None, str | None]:
    command = UpdateImprovementAction.model_validate(
        {"organization_id": action.organization_id, "actor": "key-quality",
         "action_id": action.id, **fields}
    )  # fmt: skip
    answer, _ = await run(sessions, improvements.update_action, command, now=at)
    return (answer.error.code, answer.error.field) if answer.error else (None, None)


async def _stored(sessions: Sessions, action: ImprovementAction) -> ImprovementAction:
    async with sessions() as session:
        found = await session.get(ImprovementAction, action.id)
    assert found is not None
    return found


async def test_an_action_goes_from_open_to_verified_and_giving_up_needs_a_reason(
    sessions: Sessions,
) -> None:
    watchlist = await make_watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)
    action = await _action(sessions, incident, "上线批次抽检双人复核")

    day = timedelta(days=1)
    assert await _move(sessions, action, NOW, status=S.IN_PROGRESS) == (None, None)
    assert await _move(sessions, action, NOW + 3 * day, status=S.DONE) == (None, None)
    assert await _move(sessions, action, NOW + 4 * day, status=S.DROPPED) == ("Invalid", "reason")
    assert await _move(sessions, action, NOW + 5 * day, status=S.VERIFIED) == (None, None)
    assert await _move(sessions, action, NOW + 6 * day, status=S.DROPPED, reason="x") == (
        "InvalidTransition", "status"
    )  # fmt: skip
    stored = await _stored(sessions, action)
    assert (stored.status, stored.done_at) == ("verified", NOW + timedelta(days=3))
    assert stored.status_changed_by == "key-quality"
    moves = await timeline_of(sessions, incident, improvements.STATUS_CHANGED)
    assert [m.data["to"] for m in moves] == ["in_progress", "done", "verified"]
    assert moves[-1].message == "改进措施「上线批次抽检双人复核」已完成 → 已验证"


async def test_the_owner_is_an_active_person_of_the_organization(sessions: Sessions) -> None:
    watchlist = await make_watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)
    action = await _action(sessions, incident, "更新客服话术")
    async with transaction(sessions) as session:
        chen = Person(organization_id=incident.organization_id, name="陈静")
        gone = Person(organization_id=incident.organization_id, name="王离", deactivated_at=NOW)
        session.add_all([chen, gone])
    elsewhere = await make_watchlist(sessions)
    async with transaction(sessions) as session:
        stranger = Person(organization_id=elsewhere.organization_id, name="外人")
        session.add(stranger)

    assert await _move(sessions, action, NOW, owner_person_id=stranger.id) == (
        "NotFound", "ownerPersonId"
    )  # fmt: skip
    assert await _move(sessions, action, NOW, owner_person_id=gone.id) == (
        "Invalid", "ownerPersonId"
    )  # fmt: skip
    assert await _move(sessions, action, NOW, owner_person_id=chen.id) == (None, None)
    stored = await _stored(sessions, action)
    assert (stored.owner_person_id, stored.owner) == (chen.id, "陈静")


async def test_a_late_action_is_told_once_and_a_new_due_date_is_watched_again(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)
    late = await _action(sessions, incident, "完善召回预案", due_at=NOW - timedelta(days=2))
    await _action(sessions, incident, "已做完的", S.DONE, due_at=NOW - timedelta(days=2))

    def deadline_pass(at: datetime) -> Sweep:
        return Sweep(improvements.IMPROVEMENT_DEADLINES, sessions, redis, FixedClock(at),
                     interval=60.0, producer="incidents")  # fmt: skip

    assert await deadline_pass(NOW).run_once() == 1
    assert await deadline_pass(NOW + timedelta(hours=1)).run_once() == 0
    [told] = [e for e in await events_of(sessions, incident) if e.type == "improvement.overdue"]
    assert (told.payload["action_id"], told.payload["days_late"]) == (str(late.id), 2)
    assert (await _stored(sessions, late)).overdue_at == NOW

    assert await _move(sessions, late, NOW, due_at=NOW + timedelta(days=1)) == (None, None)
    assert (await _stored(sessions, late)).overdue_at is None
    assert await deadline_pass(NOW + timedelta(days=2)).run_once() == 1


async def test_a_recurrence_reopens_only_the_actions_not_finished(sessions: Sessions) -> None:
    watchlist = await make_watchlist(sessions)
    past = await open_incident(sessions, watchlist, crisis_type=CrisisType.PRODUCT_QUALITY)
    await force(sessions, past, status=IncidentStatus.CLOSED, resolved_at=NOW, closed_at=NOW)
    states = {"进行中的": S.IN_PROGRESS, "完成的": S.DONE, "验证的": S.VERIFIED,
              "放弃的": S.DROPPED, "未开始的": S.OPEN}  # fmt: skip
    for text, status in states.items():
        await _action(sessions, past, text, status)
    later = NOW + timedelta(days=60)
    signal = await make_signal(
        sessions, watchlist, Tier.YELLOW, detected_at=later,
        crisis_type=CrisisType.PRODUCT_QUALITY,
    )  # fmt: skip
    await apply(sessions, signal, now=later)
    new = await landed(sessions, signal)
    assert new is not None
    async with sessions() as session:
        found = await session.exec(
            select(ImprovementAction).where(ImprovementAction.incident_id == past.id)
        )
        after = {a.action: (a.status, a.reopened_by_incident_id) for a in found.all()}
    assert after == {
        "进行中的": ("open", new.id),
        "未开始的": ("open", new.id),
        "完成的": ("done", None),
        "验证的": ("verified", None),
        "放弃的": ("dropped", None),
    }
    assert isinstance(new.id, uuid.UUID)
