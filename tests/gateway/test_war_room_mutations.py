"""War-room mutations end to end: gateway → incidents queue → the real incidents worker → read back.

Each test builds its own war room (an organization whose incidents were opened by risk
signals) and sends the mutations a crisis team sends, checking what the gateway reads
back after the incidents service applied them. Each runs twice: with the positional forms
old clients send, and with the `input:` forms that replace them, whose answers must be the
same but for the `code` every refusal carries.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.tests.conftest import gid
from gateway.tests.war_room_ops import (
    ACKNOWLEDGE,
    ACKNOWLEDGE_INPUT,
    FORMS,
    PLAYBOOK,
    uncoded,
    written,
)
from libs.contracts.enums import Role
from tests.gateway.builders import System, WarRoom, refusal, war_room

Send = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(params=FORMS)
def form(request: pytest.FixtureRequest) -> str:
    """The form the test sends each positional mutation in."""
    form: str = request.param
    return form


@pytest.fixture
def send(system: System, form: str) -> Send:
    """Send a war-room mutation, named by its positional form, in the test's form."""

    async def sending(
        room: WarRoom, name: str, variables: dict[str, Any], role: Role = Role.RESPONDER
    ) -> dict[str, Any]:
        document, given = written(form, name, variables)
        result = await system.mutate(room.tenant, role, document, given)
        return uncoded(result) if form == "input" else result

    return sending


@pytest.fixture
def acknowledge(system: System, form: str) -> Send:
    """Acknowledge an incident in the test's form, selecting its timeline."""

    async def sending(room: WarRoom, variables: dict[str, Any]) -> dict[str, Any]:
        if form == "positional":
            return await system.mutate(room.tenant, Role.RESPONDER, ACKNOWLEDGE, variables)
        given = {"input": variables}
        return uncoded(await system.mutate(room.tenant, Role.RESPONDER, ACKNOWLEDGE_INPUT, given))

    return sending


async def test_incident_mutations_change_the_incident_and_read_it_back(
    system: System, send: Send
) -> None:
    room = await war_room(system)
    incident = gid("Incident", room.incident)
    until = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0).isoformat()
    assigned = await send(
        room, "assignRole", {"id": incident, "role": "SPOKESPERSON", "person": "李娜"}
    )
    raised = await send(
        room, "changeIncidentTier", {"id": incident, "tier": "RED", "reason": "央媒转发"}
    )
    facts = await send(
        room,
        "setKeyFacts",
        {"id": incident, "facts": [{"label": "涉事批次", "value": "20250301"}]},
    )
    done = await send(
        room, "completeTask", {"id": gid("ResponseTask", room.tasks[0]), "note": "已确认"}
    )
    snoozed = await send(
        room,
        "snoozeWatchlist",
        {"id": gid("Watchlist", room.watchlist), "until": until, "reason": "促销活动期间误报"},
    )
    merged = await send(
        room,
        "transitionIncident",
        {
            "id": incident,
            "to": "MERGED",
            "reason": "与物流事件为同一来源",
            "into": gid("Incident", room.other_incident),
        },
    )
    playbook = await send(room, "setPlaybook", {"input": PLAYBOOK}, Role.ADMIN)
    assert assigned["team"] == [{"role": "SPOKESPERSON", "person": "李娜"}]
    assert raised["tier"] == "RED"
    assert facts["keyFacts"] == [{"label": "涉事批次", "value": "20250301"}]
    assert done["status"] == "DONE"
    assert done["completedBy"].startswith("api_key:")
    assert done["databaseId"] == str(room.tasks[0])
    assert snoozed["reason"] == "促销活动期间误报"
    assert snoozed["until"] == until
    assert merged["__typename"] == "Incident"
    assert merged["status"] == "MERGED"
    assert merged["statusReason"] == "与物流事件为同一来源"
    # The incidents service found both incidents in the caller's organization.
    assert merged["mergedInto"] == {"databaseId": str(room.other_incident)}
    assert playbook == {
        "__typename": "Playbook",
        "tier": "RED",
        "crisisType": "DATA_LEAK",
        "team": [{"role": "COMMANDER", "count": 1}, {"role": "LEGAL", "count": 2}],
        "tasks": [
            {"kind": "legal_review", "dueAfterMinutes": 60, "role": "LEGAL", "channel": "WEBSITE"}
        ],
    }


async def test_acknowledging_again_answers_the_incident_and_a_closed_one_is_refused(
    system: System, send: Send, acknowledge: Send
) -> None:
    room = await war_room(system)
    dismissed = await send(
        room,
        "transitionIncident",
        {"id": gid("Incident", room.other_incident), "to": "FALSE_ALARM", "reason": "系误报"},
    )
    variables = {"id": gid("Incident", room.incident), "note": "值班监测已启动"}
    first = await acknowledge(room, variables)
    second = await acknowledge(room, variables)
    closed = await acknowledge(room, {"id": gid("Incident", room.other_incident)})
    assert dismissed["status"] == "FALSE_ALARM"
    assert first["__typename"] == "Incident"
    assert first["status"] == "ACKNOWLEDGED"
    assert first["acknowledgedBy"].startswith("api_key:")
    # The acknowledgement's two events share one instant, so only their set is fixed.
    assert sorted(first["timeline"], key=lambda event: event["kind"]) == [
        {
            "kind": "opened",
            "message": "风险信号触发中度预警，创建事件，"
            "原因：负面声量为基线的 6.2 倍；媒体大号参与转发",
        },
        {"kind": "status_changed", "message": "事件状态由已发现变更为已确认，原因：值班监测已启动"},
        {"kind": "task_done", "message": "任务「确认事件并启动监测」已完成"},
    ]
    assert second == first
    assert closed == {
        "__typename": "InvalidTransition",
        "message": "cannot acknowledge an incident that is false_alarm",
        "currentStatus": "FALSE_ALARM",
    }


async def test_statement_mutations_follow_a_statement_to_publication(
    system: System, send: Send
) -> None:
    room = await war_room(system)
    drafted = await send(
        room,
        "draftStatement",
        {
            "id": gid("Incident", room.incident),
            "channel": "WECHAT",
            "body": "涉事批次 20250301 已全部下架送检。",
        },
    )
    statement = gid("Statement", drafted["databaseId"])
    revised = await send(room, "reviseStatement", {"id": statement, "body": "修订后的说明"})
    reviewed = await send(
        room,
        "reviewStatement",
        {"id": statement, "stage": "LEVEL_1", "decision": "APPROVE", "note": "措辞可以"},
    )
    for stage in ("LEVEL_2", "LEVEL_3"):
        approved = await send(
            room,
            "reviewStatement",
            {"id": statement, "stage": stage, "decision": "APPROVE"},
        )
    published = await send(
        room,
        "publishStatement",
        {"id": statement, "url": "https://weibo.com/helan/1", "at": "2025-03-15T11:00:00"},
    )
    assert drafted["status"] == "DRAFT"
    assert drafted["channel"] == "WECHAT"
    assert drafted["body"] == "涉事批次 20250301 已全部下架送检。"
    assert revised["databaseId"] == drafted["databaseId"]
    assert revised["body"] == "修订后的说明"
    assert revised["reviewLevel"] == 0
    assert reviewed["status"] == "IN_REVIEW"
    assert reviewed["reviewLevel"] == 1
    assert reviewed["reviews"] == [{"stage": "LEVEL_1", "decision": "APPROVE", "note": "措辞可以"}]
    assert approved["status"] == "APPROVED"
    assert published["status"] == "PUBLISHED"
    assert published["publishedUrl"] == "https://weibo.com/helan/1"
    # A time without an offset is read as UTC.
    assert published["publishedAt"] == "2025-03-15T11:00:00+00:00"


async def test_aftercare_mutations_write_the_review_and_keep_users_masked(
    system: System, send: Send, acknowledge: Send
) -> None:
    room = await war_room(system)
    incident = gid("Incident", room.incident)
    review = {
        "id": incident,
        "cause": "质检漏检",
        "improvements": [{"action": "增加批次抽检", "owner": "品控部"}],
    }
    updated = await send(room, "updateReview", review)
    await acknowledge(room, {"id": incident})
    for status in ("RESPONDING", "RECOVERING", "RESOLVED"):
        moved = await send(room, "transitionIncident", {"id": incident, "to": status})
        assert moved["status"] == status
    completed = await send(room, "completeReview", {"id": incident})
    edited_late = await send(room, "updateReview", review)
    added = await send(
        room,
        "addAffectedUser",
        {
            "input": {
                "incidentId": incident,
                "name": "欧阳娜娜",
                "contactKind": "PHONE",
                "contact": "139 8765 4321",
                "followUpDueAt": "2025-03-16T08:00:00Z",
            }
        },
    )
    [follow_up] = added.pop("followUps")
    followed = await send(
        room, "completeFollowUp", {"id": follow_up["databaseId"], "note": "已电话回访"}
    )
    filed = await send(
        room,
        "fileReply",
        {
            "input": {
                "incidentId": incident,
                "category": "产品质量",
                "text": "奶粉喝了拉肚子怎么办？",
                "reply": "请保留批次信息，我们将安排专人回访。",
            }
        },
    )
    assert updated["status"] == "draft"
    assert updated["rootCause"] == "质检漏检"
    assert updated["improvements"] == [{"action": "增加批次抽检", "owner": "品控部"}]
    assert completed["status"] == "complete"
    assert completed["completedBy"].startswith("api_key:")
    assert edited_late == refusal(
        "Conflict",
        "the review is complete and can no longer be edited (status: complete)",
        "incidentId",
    )
    assert added == {
        "__typename": "AffectedUser",
        "nameMasked": "欧阳**",
        "contactKind": "PHONE",
        "contactMasked": "139****4321",
    }
    assert (follow_up["kind"], follow_up["dueAt"]) == ("FOLLOW_UP", "2025-03-16T08:00:00+00:00")
    assert followed == {
        "__typename": "FollowUp",
        "databaseId": follow_up["databaseId"],
        "status": "DONE",
        "note": "已电话回访",
    }
    assert filed["category"] == "产品质量"
    assert filed["text"] == "奶粉喝了拉肚子怎么办？"
    assert filed["reply"] == "请保留批次信息，我们将安排专人回访。"
