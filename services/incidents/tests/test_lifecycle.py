"""The lifecycle table, merges, false alarms, reopening and tier changes on real PostgreSQL."""

import uuid
from datetime import timedelta

import pytest
from sqlmodel import select

from libs.contracts.enums import EventType, IncidentStatus, TaskStatus, Tier
from libs.contracts.events import IncidentStatusChanged
from libs.contracts.messages import AcknowledgeIncident
from libs.contracts.response import (
    ChangeIncidentTier,
    IntegrationEventEmitted,
    TransitionIncident,
)
from libs.database.engine import transaction
from libs.database.tables import Incident, IntegrationEvent
from services.incidents import events
from services.incidents.lifecycle import service as lifecycle
from services.incidents.lifecycle.transitions import ALLOWED
from services.incidents.tests.builders import (
    DETECTED_AT,
    command_about,
    events_of,
    force,
    make_watchlist,
    open_incident,
    reload,
    run,
    tasks_of,
    timeline_of,
)
from tests.builders import Sessions

S = IncidentStatus
NOW = DETECTED_AT + timedelta(hours=1)
ACTOR = "key-commander"

ALLOWED_MOVES = [
    (current, target) for current, targets in ALLOWED.items() for target in sorted(targets)
]
FORBIDDEN_MOVES = [
    (S.DETECTED, S.ASSESSING),
    (S.DETECTED, S.RESPONDING),
    (S.DETECTED, S.RESOLVED),
    (S.DETECTED, S.DETECTED),
    (S.ACKNOWLEDGED, S.RESOLVED),
    (S.ACKNOWLEDGED, S.DETECTED),
    (S.ASSESSING, S.RECOVERING),
    (S.RESPONDING, S.RESOLVED),
    (S.RESPONDING, S.CLOSED),
    (S.RECOVERING, S.CLOSED),
    (S.RESOLVED, S.ACKNOWLEDGED),
    (S.RESOLVED, S.MERGED),
    (S.RESOLVED, S.FALSE_ALARM),
    (S.CLOSED, S.RESPONDING),
    (S.MERGED, S.RESPONDING),
    (S.FALSE_ALARM, S.DETECTED),
]


def _move(
    incident: Incident,
    to: IncidentStatus,
    reason: str | None = None,
    merge_into: uuid.UUID | None = None,
) -> TransitionIncident:
    return command_about(
        TransitionIncident, incident, ACTOR, to_status=to, reason=reason, merge_into_id=merge_into
    )


def _tier(incident: Incident, tier: Tier, reason: str = "媒体开始跟进") -> ChangeIncidentTier:
    return command_about(ChangeIncidentTier, incident, ACTOR, tier=tier, reason=reason)


@pytest.mark.parametrize(("current", "target"), ALLOWED_MOVES, ids=lambda s: s.value)
async def test_every_allowed_move_is_made_with_timeline_and_event(
    rolled_back: Sessions, current: IncidentStatus, target: IncidentStatus
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await open_incident(rolled_back, watchlist, status=current)
    into = None
    if target is S.MERGED:
        other = await make_watchlist(rolled_back, watchlist.organization_id, "米粉")
        into = (await open_incident(rolled_back, other)).id

    result, messages = await run(
        rolled_back, lifecycle.transition, _move(incident, target, "经研判", into), now=NOW
    )

    assert result.ok, result.error
    assert result.data["status"] == target and result.data["previous_status"] == current
    stored = await reload(rolled_back, incident)
    assert stored.status == target
    assert stored.status_reason == "经研判"
    assert (stored.resolved_at == NOW) is (target is S.RESOLVED)
    assert (stored.closed_at == NOW) is (target is S.CLOSED)
    assert stored.merged_into_id == into
    assert stored.reopened_count == (1 if current is S.RESOLVED and target is S.RESPONDING else 0)

    changed = [e for e in await timeline_of(rolled_back, incident) if e.kind == "status_changed"]
    assert len(changed) == 1
    assert changed[0].actor == ACTOR and changed[0].occurred_at == NOW
    assert changed[0].data["from"] == current and changed[0].data["to"] == target
    assert changed[0].data["note"] == "经研判" and "原因：经研判" in changed[0].message
    assert result.data["timeline_event_id"] == str(changed[0].id)

    [status_event] = [
        e for e in await events_of(rolled_back, incident) if e.type == "incident.status_changed"
    ]
    assert status_event.id == events.event_id(EventType.INCIDENT_STATUS_CHANGED, str(changed[0].id))
    assert status_event.payload["from"] == current and status_event.payload["to"] == target
    assert status_event.payload["actor"] == ACTOR
    announced = [m for m in messages if isinstance(m, IntegrationEventEmitted)]
    assert status_event.id in {m.event_id for m in announced}
    assert result.data["event_id"] == str(status_event.id)


@pytest.mark.parametrize(("current", "target"), FORBIDDEN_MOVES, ids=lambda s: s.value)
async def test_a_forbidden_move_is_refused_naming_the_current_state(
    rolled_back: Sessions, current: IncidentStatus, target: IncidentStatus
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), status=current)
    before = await timeline_of(rolled_back, incident)

    result, messages = await run(
        rolled_back, lifecycle.transition, _move(incident, target, "试一下"), now=NOW
    )

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("InvalidTransition", "toStatus")
    assert result.error.message.startswith(
        f"cannot move an incident that is {current.value} to {target.value}"
    )
    assert result.data["current_status"] == current
    assert messages == []
    assert (await reload(rolled_back, incident)).status == current
    assert len(await timeline_of(rolled_back, incident)) == len(before)
    assert [e.type for e in await events_of(rolled_back, incident)] == ["incident.opened"]


async def test_the_refusal_lists_where_the_incident_can_go(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))
    result, _ = await run(rolled_back, lifecycle.transition, _move(incident, S.CLOSED), now=NOW)
    assert result.error is not None
    assert result.error.message == (
        "cannot move an incident that is detected to closed: "
        "from detected it can move to acknowledged, merged, false_alarm"
    )
    await force(rolled_back, incident, status=S.CLOSED)
    result, _ = await run(rolled_back, lifecycle.transition, _move(incident, S.RESPONDING), now=NOW)
    assert result.error is not None
    assert result.error.message.endswith("closed is final")


async def test_a_whole_life_from_detection_to_closing(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), Tier.ORANGE)
    path = [S.ACKNOWLEDGED, S.ASSESSING, S.RESPONDING, S.RECOVERING, S.RESOLVED, S.CLOSED]
    event_ids = []
    for step, status in enumerate(path):
        at = NOW + timedelta(hours=step)
        result, messages = await run(
            rolled_back, lifecycle.transition, _move(incident, status), now=at
        )
        assert result.ok, result.error
        event_ids.append(result.data["event_id"])
        assert [m.event_id for m in messages if isinstance(m, IntegrationEventEmitted)] == [
            uuid.UUID(result.data["event_id"])
        ]

    stored = await reload(rolled_back, incident)
    assert stored.status == S.CLOSED
    assert stored.acknowledged_at == NOW and stored.acknowledged_by == ACTOR
    assert stored.resolved_at == NOW + timedelta(hours=4)
    assert stored.closed_at == NOW + timedelta(hours=5)
    tasks = {t.kind: t for t in await tasks_of(rolled_back, incident)}
    assert tasks["acknowledge"].status == TaskStatus.DONE
    assert tasks["acknowledge"].completed_by == ACTOR
    changes = [e for e in await timeline_of(rolled_back, incident) if e.kind == "status_changed"]
    assert [(e.data["from"], e.data["to"]) for e in changes] == list(
        zip(["detected", *path[:-1]], path, strict=True)
    )
    stored_events = [
        e for e in await events_of(rolled_back, incident) if e.type.endswith("changed")
    ]
    assert sorted(str(e.id) for e in stored_events) == sorted(event_ids)
    assert len(set(event_ids)) == len(path)


async def test_acknowledge_command_is_a_transition_and_emits_its_event(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))
    command = AcknowledgeIncident(
        organization_id=incident.organization_id, incident_id=incident.id, actor="key-a"
    )

    first, emitted = await run(rolled_back, lifecycle.acknowledge, command, now=NOW)
    again, emitted_again = await run(
        rolled_back, lifecycle.acknowledge, command, now=NOW + timedelta(minutes=5)
    )

    assert first.ok and again.ok and first.data == again.data
    assert first.data["acknowledged_at"] == NOW.isoformat()
    assert [m.type for m in emitted if isinstance(m, IntegrationEventEmitted)] == [
        EventType.INCIDENT_STATUS_CHANGED
    ]
    assert emitted_again == []
    stored_types = [e.type for e in await events_of(rolled_back, incident)]
    assert stored_types == ["incident.opened", "incident.status_changed"]

    await force(rolled_back, incident, status=S.RESOLVED)
    refused, _ = await run(rolled_back, lifecycle.acknowledge, command, now=NOW)
    assert refused.error is not None and refused.data == {"current_status": "resolved"}
    assert refused.error.message == "cannot acknowledge an incident that is resolved"


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_false_alarm_needs_a_reason(rolled_back: Sessions, reason: str | None) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))

    result, messages = await run(
        rolled_back, lifecycle.transition, _move(incident, S.FALSE_ALARM, reason), now=NOW
    )

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("Invalid", "reason")
    assert "detected" in result.error.message and result.data["current_status"] == "detected"
    assert messages == []
    assert (await reload(rolled_back, incident)).status == S.DETECTED


async def test_false_alarm_with_a_reason_ends_the_incident(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await open_incident(rolled_back, watchlist)
    result, _ = await run(
        rolled_back,
        lifecycle.transition,
        _move(incident, S.FALSE_ALARM, "竞品营销号刷量，非真实投诉"),
        now=NOW,
    )
    assert result.ok
    stored = await reload(rolled_back, incident)
    assert (stored.status, stored.status_reason) == ("false_alarm", "竞品营销号刷量，非真实投诉")


@pytest.mark.parametrize(
    ("current", "target"), [(S.RECOVERING, S.RESPONDING), (S.RESOLVED, S.RESPONDING)]
)
async def test_going_back_needs_a_reason(
    rolled_back: Sessions, current: IncidentStatus, target: IncidentStatus
) -> None:
    incident = await force(
        rolled_back,
        await open_incident(rolled_back, await make_watchlist(rolled_back)),
        status=current,
    )
    result, _ = await run(rolled_back, lifecycle.transition, _move(incident, target), now=NOW)
    assert result.error is not None and result.error.field == "reason"
    assert result.data["current_status"] == current


async def test_reopening_is_refused_while_the_watchlist_has_another_open_incident(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    old = await force(
        rolled_back, await open_incident(rolled_back, watchlist), status=S.RESOLVED, resolved_at=NOW
    )
    newer = await open_incident(rolled_back, watchlist, detected_at=NOW + timedelta(days=5))
    assert newer.id != old.id

    result, _ = await run(
        rolled_back, lifecycle.transition, _move(old, S.RESPONDING, "再次升温"), now=NOW
    )

    assert result.error is not None
    assert (result.error.code, result.error.field) == ("Conflict", "toStatus")
    assert str(newer.id) in result.error.message
    assert (await reload(rolled_back, old)).status == S.RESOLVED


async def test_reopening_counts_and_clears_the_resolution(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))
    await force(rolled_back, incident, status=S.RESOLVED, resolved_at=NOW, reopened_count=1)

    result, _ = await run(
        rolled_back, lifecycle.transition, _move(incident, S.RESPONDING, "二次发酵"), now=NOW
    )

    assert result.ok and result.data["reopened_count"] == 2
    stored = await reload(rolled_back, incident)
    assert (stored.status, stored.reopened_count, stored.resolved_at) == ("responding", 2, None)
    [status_event] = [
        e for e in await events_of(rolled_back, incident) if e.type == "incident.status_changed"
    ]
    assert status_event.payload["reopened_count"] == 2


async def test_merging_needs_an_open_incident_of_the_same_organization(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await open_incident(rolled_back, watchlist)
    theirs = await open_incident(rolled_back, await make_watchlist(rolled_back))
    closed_one = await open_incident(
        rolled_back, await make_watchlist(rolled_back, watchlist.organization_id, "米粉")
    )
    await force(rolled_back, closed_one, status=S.RESOLVED)
    drill = await open_incident(
        rolled_back, await make_watchlist(rolled_back, watchlist.organization_id, "演练")
    )
    await force(rolled_back, drill, drill=True)
    missing = uuid.uuid4()

    cases = [
        (None, "Invalid", "mergeIntoId is required"),
        (incident.id, "Invalid", "cannot be merged into itself"),
        (missing, "NotFound", f"incident {missing} not found"),
        (theirs.id, "NotFound", f"incident {theirs.id} not found"),
        (closed_one.id, "Conflict", "it is resolved, not open"),
        (drill.id, "Invalid", "a drill's incident and a real one cannot be merged"),
    ]
    for into, code, text in cases:
        result, _ = await run(
            rolled_back, lifecycle.transition, _move(incident, S.MERGED, "同一事件", into), now=NOW
        )
        assert result.error is not None, into
        assert (result.error.code, result.error.field) == (code, "mergeIntoId")
        assert text in result.error.message
        assert result.data["current_status"] == "detected"

    stray, _ = await run(
        rolled_back,
        lifecycle.transition,
        _move(incident, S.ACKNOWLEDGED, None, closed_one.id),
        now=NOW,
    )
    assert stray.error is not None and stray.error.field == "mergeIntoId"
    assert (await reload(rolled_back, incident)).status == S.DETECTED
    assert (await reload(rolled_back, theirs)).status == S.DETECTED


async def test_merging_a_higher_tier_incident_raises_the_target(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    target = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    other = await make_watchlist(rolled_back, watchlist.organization_id, "米粉")
    source = await open_incident(rolled_back, other, Tier.ORANGE)

    result, messages = await run(
        rolled_back,
        lifecycle.transition,
        _move(source, S.MERGED, "同一批次问题", target.id),
        now=NOW,
    )

    assert result.ok and result.data["merged_into_id"] == str(target.id)
    assert (await reload(rolled_back, source)).merged_into_id == target.id
    raised = await reload(rolled_back, target)
    assert raised.tier == Tier.ORANGE and raised.title == "「奶粉」中度舆情危机"
    kinds = [t.kind for t in await tasks_of(rolled_back, target)]
    assert len(kinds) == len(set(kinds)) == 6
    target_events = await timeline_of(rolled_back, target)
    merged_in = [e for e in target_events if e.kind == "merged_in"]
    assert merged_in[0].data["source_id"] == str(source.id)
    assert "「米粉」中度舆情危机" in merged_in[0].message
    emitted = {m.type for m in messages if isinstance(m, IntegrationEventEmitted)}
    assert emitted == {EventType.INCIDENT_STATUS_CHANGED, EventType.INCIDENT_TIER_CHANGED}


async def test_raising_the_tier_adds_tasks_without_duplicates(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), Tier.YELLOW)

    to_orange, emitted = await run(
        rolled_back, lifecycle.change_tier, _tier(incident, Tier.ORANGE), now=NOW
    )
    to_red, _ = await run(
        rolled_back, lifecycle.change_tier, _tier(incident, Tier.RED, "涉及人身安全"), now=NOW
    )

    assert to_orange.ok and to_orange.data["added_tasks"] == ["collect_feedback", "full_plan"]
    assert to_red.ok and to_red.data["added_tasks"] == [
        "legal_review",
        "website_notice",
        "douyin_video",
    ]
    tasks = await tasks_of(rolled_back, incident)
    kinds = [t.kind for t in tasks]
    assert len(kinds) == len(set(kinds)) == 9
    assert [t.position for t in tasks] == list(range(9))
    legal = next(t for t in tasks if t.kind == "legal_review")
    assert (legal.role, legal.due_at) == ("legal", DETECTED_AT + timedelta(hours=3))
    stored = await reload(rolled_back, incident)
    assert (stored.tier, stored.title) == ("red", "「奶粉」严重舆情危机")

    changes = [e for e in await timeline_of(rolled_back, incident) if e.kind == "tier_changed"]
    assert [(e.data["from"], e.data["to"], e.actor) for e in changes] == [
        ("yellow", "orange", ACTOR),
        ("orange", "red", ACTOR),
    ]
    assert "原因：媒体开始跟进" in changes[0].message
    [message] = emitted
    assert isinstance(message, IntegrationEventEmitted)
    assert message.event_id == events.event_id(EventType.INCIDENT_TIER_CHANGED, str(changes[0].id))
    assert message.payload["reasons"] == ["媒体开始跟进"]


async def test_lowering_the_tier_keeps_every_task(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), Tier.RED)
    result, _ = await run(
        rolled_back, lifecycle.change_tier, _tier(incident, Tier.YELLOW, "已澄清"), now=NOW
    )
    assert result.ok and result.data["added_tasks"] == []
    assert len(await tasks_of(rolled_back, incident)) == 9
    assert (await reload(rolled_back, incident)).tier == Tier.YELLOW


async def test_tier_change_refusals(rolled_back: Sessions) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), Tier.ORANGE)

    same, _ = await run(rolled_back, lifecycle.change_tier, _tier(incident, Tier.ORANGE), now=NOW)
    blank, _ = await run(
        rolled_back, lifecycle.change_tier, _tier(incident, Tier.RED, "  "), now=NOW
    )
    await force(rolled_back, incident, status=S.CLOSED)
    closed, _ = await run(rolled_back, lifecycle.change_tier, _tier(incident, Tier.RED), now=NOW)

    assert same.error is not None and (same.error.code, same.error.field) == ("Invalid", "tier")
    assert blank.error is not None and blank.error.field == "reason"
    assert closed.error is not None and closed.error.code == "InvalidTransition"
    assert closed.error.message == "cannot change the tier of an incident that is closed"
    assert closed.data["current_status"] == "closed"
    assert (await reload(rolled_back, incident)).tier == Tier.ORANGE


async def test_an_event_is_stored_once_under_its_stable_id(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))
    result, [message] = await run(
        rolled_back, lifecycle.transition, _move(incident, S.ACKNOWLEDGED), now=NOW
    )
    assert isinstance(message, IntegrationEventEmitted)
    key = result.data["timeline_event_id"]

    async with transaction(rolled_back) as session:
        replayed = IncidentStatusChanged(
            incident_id=incident.id,
            from_="detected",
            to="acknowledged",
            actor="replay",
            reason="replayed",
            timeline_event_id=uuid.UUID(key),
        )
        later = NOW + timedelta(minutes=1)
        again = await events.record(
            session, replayed, incident.organization_id, incident.id, key=key, at=later
        )

    assert again.event_id == message.event_id
    async with rolled_back() as session:
        rows = (
            await session.exec(
                select(IntegrationEvent).where(IntegrationEvent.id == message.event_id)
            )
        ).all()
    assert len(rows) == 1 and rows[0].payload == message.payload
    assert rows[0].occurred_at == NOW
