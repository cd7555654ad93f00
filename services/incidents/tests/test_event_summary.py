"""The incident summary in every integration event, read from real PostgreSQL."""

import json
import re
import uuid
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from libs.contracts.enums import (
    Channel,
    CrisisType,
    EventType,
    ReviewDecision,
    ReviewStage,
    Tier,
)
from libs.contracts.events import IncidentStatusChanged
from libs.contracts.messages import AcknowledgeIncident, Message
from libs.contracts.response import (
    ChangeIncidentTier,
    CompleteReview,
    DraftStatement,
    ImprovementEntry,
    IncidentTaskSummary,
    IntegrationEventEmitted,
    PublishStatement,
    ReviewStatement,
    UpdateReview,
)
from libs.database.engine import transaction
from libs.database.tables import IntegrationEvent, ResponseTask
from libs.privacy import DataKey, generate_key
from services.incidents import events
from services.incidents.aftercare import service as affected
from services.incidents.lifecycle import service as lifecycle
from services.incidents.review import service as report
from services.incidents.statements import approval
from services.incidents.statements import service as statements
from services.incidents.summary import incident_summary
from services.incidents.tasks import deadlines
from services.incidents.tests.builders import (
    DETECTED_AT,
    add_user_command,
    apply,
    command_about,
    force,
    integration_events,
    landed,
    make_org,
    make_signal,
    make_watchlist,
    open_incident,
    run,
    tasks_of,
)
from tests.builders import Sessions, response_task

NOW = DETECTED_AT + timedelta(minutes=10)
WEBHOOKS = Path(__file__).resolve().parents[3] / "docs" / "webhooks.md"
REASONS = ["负面声量为基线的 6.2 倍", "媒体大号转发：@某财经"]


def _assert_documented(message: IntegrationEventEmitted) -> None:
    """Check that the payload has exactly the fields docs/webhooks.md shows for its type."""
    bodies = [
        json.loads(block)
        for block in re.findall(r"```json\n(.*?)```", WEBHOOKS.read_text(), re.DOTALL)
    ]
    [body] = [b for b in bodies if isinstance(b, dict) and b.get("type") == message.type.value]
    documented = body["data"]
    assert set(message.payload) == set(documented)
    summary = message.payload["incident"]
    # `console_url` is added by the notify worker, not here.
    assert set(summary) == set(documented["incident"]) - {"console_url"}
    for task in summary["tasks"] + documented["incident"]["tasks"]:
        assert set(task) == set(IncidentTaskSummary.model_fields)


def _only_event(messages: Sequence[Message]) -> IntegrationEventEmitted:
    [message] = messages
    assert isinstance(message, IntegrationEventEmitted)
    return message


def _summary(message: Message) -> dict[str, Any]:
    assert isinstance(message, IntegrationEventEmitted)
    summary = message.payload["incident"]
    assert isinstance(summary, dict)
    return summary


def _expected_tasks(tasks: list[ResponseTask], *, overdue: set[str]) -> list[dict[str, Any]]:
    """Return the summary entries of the tasks not done, soonest first."""
    pending = sorted(
        (t for t in tasks if t.status != "done"), key=lambda t: (t.due_at, t.position, t.kind)
    )
    return [
        {
            "id": str(t.id),
            "kind": t.kind,
            "title": t.title,
            "role": t.role,
            "channel": t.channel,
            "due_at": t.due_at.isoformat().replace("+00:00", "Z"),
            "overdue": t.kind in overdue,
        }
        for t in pending
    ]


async def _stored_payload(sessions: Sessions, message: IntegrationEventEmitted) -> dict[str, Any]:
    async with sessions() as session:
        row = await session.get(IntegrationEvent, message.event_id)
    assert row is not None
    return row.payload


async def test_an_opened_incident_announces_itself_in_full(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back, None, "禾岚乳业")
    signal = await make_signal(
        rolled_back, watchlist, Tier.ORANGE, reasons=REASONS, crisis_type=CrisisType.PRODUCT_QUALITY
    )

    outcome = await apply(rolled_back, signal, now=NOW)

    incident = await landed(rolled_back, signal)
    assert incident is not None
    message = _only_event(outcome.messages)
    assert message.type is EventType.INCIDENT_OPENED
    tasks = await tasks_of(rolled_back, incident)
    assert _summary(message) == {
        "id": str(incident.id),
        "title": "「禾岚乳业」中度舆情危机",
        "status": "detected",
        "tier": "orange",
        "crisis_type": "product_quality",
        "watchlist": {"id": str(watchlist.id), "name": "禾岚乳业"},
        "detected_at": "2025-03-01T08:00:00Z",
        "reasons": REASONS,
        "tasks": _expected_tasks(tasks, overdue=set()),
        # No mention reached the watchlist yet: no pace, so no next tier and no peak; the
        # tier holds, as the analysis service holds it, until the score is 10 points under
        # orange's floor.
        "forecast": {
            "trend": "flat",
            "next_tier": "red",
            "seconds_to_next_tier": None,
            "seconds_to_peak": None,
            "horizons": [
                {"after_seconds": 3600, "tier": "orange", "reach": 0},
                {"after_seconds": 14400, "tier": "orange", "reach": 0},
            ],
            "summary": "热度基本持平",
        },
        "drill": False,
    }
    assert len(_summary(message)["tasks"]) == len(tasks) > 3
    # The fields receivers had before the summary are all still there.
    assert message.payload["incident_id"] == str(incident.id)
    assert message.payload["reasons"] == REASONS
    assert await _stored_payload(rolled_back, message) == message.payload
    _assert_documented(message)


async def test_a_raise_by_signal_carries_that_signal_reasons_and_the_added_tasks(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back, None, "禾岚乳业")
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    before = len(await tasks_of(rolled_back, incident))
    red = await make_signal(rolled_back, watchlist, Tier.RED, reasons=["出现婴儿腹泻投诉"])

    outcome = await apply(rolled_back, red, now=NOW)

    raised = _only_event(outcome.messages)
    _assert_documented(raised)
    summary = _summary(raised)
    tasks = await tasks_of(rolled_back, incident)
    assert len(tasks) > before
    assert summary["tier"] == "red" and summary["title"] == "「禾岚乳业」严重舆情危机"
    assert summary["reasons"] == ["出现婴儿腹泻投诉"]
    assert summary["tasks"] == _expected_tasks(tasks, overdue=set())


async def test_a_tier_changed_by_hand_gives_the_person_reason_until_the_next_signal(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back, None, "禾岚乳业")
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    change = command_about(
        ChangeIncidentTier, incident, "key-commander", tier=Tier.ORANGE, reason="媒体开始跟进"
    )

    _, changed = await run(rolled_back, lifecycle.change_tier, change, now=NOW)
    joined = await apply(
        rolled_back,
        await make_signal(rolled_back, watchlist, Tier.YELLOW, reasons=["讨论量回落"]),
        now=NOW + timedelta(minutes=1),
    )
    acknowledge = AcknowledgeIncident(
        organization_id=incident.organization_id, actor="key-monitor", incident_id=incident.id
    )
    _, acknowledged = await run(
        rolled_back, lifecycle.acknowledge, acknowledge, now=NOW + timedelta(minutes=2)
    )

    assert _summary(_only_event(changed))["reasons"] == ["媒体开始跟进"]
    assert joined.messages == ()  # a lower signal joins quietly, but its reasons are now the latest
    _assert_documented(_only_event(acknowledged))
    summary = _summary(_only_event(acknowledged))
    assert (summary["status"], summary["tier"]) == ("acknowledged", "orange")
    assert summary["reasons"] == ["讨论量回落"]
    # The acknowledge task is done by the same command, so it is no longer listed.
    tasks = await tasks_of(rolled_back, incident)
    assert "acknowledge" not in {t["kind"] for t in summary["tasks"]}
    assert summary["tasks"] == _expected_tasks(tasks, overdue=set())


async def test_overdue_events_mark_every_task_past_its_deadline(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back, None, "禾岚乳业")
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    now = DETECTED_AT + timedelta(hours=2, minutes=5)
    change = command_about(
        ChangeIncidentTier, incident, "key-commander", tier=Tier.BLUE, reason="已澄清"
    )

    # Before the watchdog has run, a passed deadline is overdue all the same.
    _, changed = await run(rolled_back, lifecycle.change_tier, change, now=now)
    async with transaction(rolled_back) as session:
        checked = await deadlines.check(session, now)
    # The watchdog claims every organization's passed deadlines; only this one's are checked.
    messages = [m for m in integration_events(checked.messages) if m.incident_id == incident.id]

    tasks = await tasks_of(rolled_back, incident)
    late = {t.kind for t in tasks if t.due_at <= now}
    assert late == {"acknowledge", "confirm_scope"}
    assert _summary(_only_event(changed))["tasks"] == _expected_tasks(tasks, overdue=late)
    assert len(messages) == len(late)
    for message in messages:
        assert message.type is EventType.TASK_OVERDUE
        summary = _summary(message)
        assert summary["tasks"] == _expected_tasks(tasks, overdue=late)
        assert summary["id"] == str(incident.id) and summary["watchlist"]["name"] == "禾岚乳业"
        assert await _stored_payload(rolled_back, message) == message.payload
        _assert_documented(message)


async def test_statement_and_review_events_carry_the_summary(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back, None, "禾岚乳业")
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    at = NOW
    drafted, _ = await run(
        rolled_back,
        statements.draft_statement,
        command_about(
            DraftStatement,
            incident,
            "key-writer",
            channel=Channel.WECHAT,
            body="关于部分批次奶粉的情况说明",
        ),
        now=at,
    )
    assert drafted.ok, drafted.error
    statement_id = uuid.UUID(drafted.data["id"])
    for stage in (ReviewStage.LEVEL_1, ReviewStage.LEVEL_2, ReviewStage.LEVEL_3):
        at += timedelta(minutes=1)
        review = ReviewStatement(
            organization_id=incident.organization_id,
            actor="key-reviewer",
            statement_id=statement_id,
            stage=stage,
            decision=ReviewDecision.APPROVE,
        )
        reviewed, _ = await run(rolled_back, approval.review_statement, review, now=at)
        assert reviewed.ok, reviewed.error
    publish = PublishStatement(
        organization_id=incident.organization_id,
        actor="key-spokesperson",
        statement_id=statement_id,
        url="https://mp.weixin.qq.com/s/abc",
        published_at=at + timedelta(minutes=1),
    )
    published, publication = await run(
        rolled_back, statements.publish_statement, publish, now=publish.published_at
    )
    assert published.ok, published.error

    await force(rolled_back, incident, status="resolved", resolved_at=at + timedelta(hours=1))
    update = command_about(
        UpdateReview,
        incident,
        "key-analyst",
        root_cause="批次检测漏检",
        improvements=[ImprovementEntry(action="批次抽检双人复核", owner="质量部")],
    )
    complete = CompleteReview(
        organization_id=incident.organization_id, actor="key-commander", incident_id=incident.id
    )
    async with transaction(rolled_back) as session:
        await report.update_review(session, update, now=at + timedelta(hours=2))
    async with transaction(rolled_back) as session:
        completed = await report.complete_review(session, complete, now=at + timedelta(hours=3))

    _assert_documented(_only_event(publication))
    _assert_documented(_only_event(completed.messages))
    statement_summary = _summary(_only_event(publication))
    review_summary = _summary(_only_event(completed.messages))
    assert (statement_summary["id"], statement_summary["status"]) == (str(incident.id), "detected")
    assert (review_summary["id"], review_summary["status"]) == (str(incident.id), "resolved")
    assert review_summary["reasons"] == statement_summary["reasons"] == ["yellow 级风险"]


async def test_no_contact_data_of_affected_users_reaches_a_payload(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back, None, "禾岚乳业")
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    add = add_user_command(incident, "key-service")
    async with transaction(rolled_back) as session:
        added = await affected.add_affected_user(
            session, add, DataKey.from_base64(generate_key()), now=NOW
        )
        assert added.result is not None and added.result.ok
        # A person may type a number into what the summary shows; it leaves only masked.
        await response_task(
            session,
            incident,
            "call_back",
            NOW + timedelta(hours=1),
            title="回访王先生 13912345678",
            position=99,
        )
    change = command_about(
        ChangeIncidentTier,
        incident,
        "key-commander",
        tier=Tier.ORANGE,
        reason="用户 13800135678 投诉至 wang.xiaoming@example.com",
    )

    _, [message] = await run(rolled_back, lifecycle.change_tier, change, now=NOW)

    assert isinstance(message, IntegrationEventEmitted)
    summary = _summary(message)
    text = json.dumps(summary, ensure_ascii=False)
    assert "回访王先生 139****5678" in {t["title"] for t in summary["tasks"]}
    assert summary["reasons"] == ["用户 138****5678 投诉至 w***@example.com"]
    for clear in ("13800135678", "13912345678", "王小明", "wang.xiaoming"):
        assert clear not in text
    stored = json.dumps(await _stored_payload(rolled_back, message), ensure_ascii=False)
    assert "13912345678" not in stored


async def test_an_event_without_an_incident_has_no_summary(rolled_back: Sessions) -> None:
    organization_id = await make_org(rolled_back)
    body = IncidentStatusChanged(
        incident_id=uuid.uuid4(),
        from_="detected",
        to="acknowledged",
        actor="key-monitor",
        reason=None,
        timeline_event_id=uuid.uuid4(),
    )
    async with transaction(rolled_back) as session:
        message = await events.record(
            session, body, organization_id, None, key=str(uuid.uuid4()), at=NOW
        )
    assert message.payload == body.body()
    assert "incident" not in message.payload


async def test_an_unknown_incident_has_no_summary(rolled_back: Sessions) -> None:
    async with rolled_back() as session:
        assert await incident_summary(session, uuid.uuid4(), at=NOW) is None


def test_the_summary_is_validated_and_may_grow() -> None:
    summary: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "title": "「禾岚乳业」中度舆情危机",
        "status": "detected",
        "tier": "orange",
        "crisis_type": None,
        "watchlist": {"id": str(uuid.uuid4()), "name": "禾岚乳业"},
        "detected_at": "2025-03-01T08:00:00+00:00",
        "reasons": [],
        "tasks": [],
        "next_version_field": 1,
    }

    def emitted(payload: dict[str, Any]) -> IntegrationEventEmitted:
        return IntegrationEventEmitted(
            organization_id=uuid.uuid4(),
            event_id=uuid.uuid4(),
            type=EventType.INCIDENT_OPENED,
            occurred_at=NOW,
            payload=payload,
        )

    kept = emitted({"incident": summary, "score": 0.5})
    assert kept.payload["incident"]["next_version_field"] == 1
    assert kept.payload["incident"]["detected_at"] == "2025-03-01T08:00:00Z"
    assert kept.payload["score"] == 0.5
    assert IntegrationEventEmitted.model_validate_json(kept.model_dump_json()) == kept
    with pytest.raises(ValidationError, match=r"payload\.incident\.tier"):
        emitted({"incident": summary | {"tier": "purple"}})
    with pytest.raises(ValidationError, match=r"payload\.incident\.watchlist"):
        emitted({"incident": {k: v for k, v in summary.items() if k != "watchlist"}})
