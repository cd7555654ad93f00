"""The review report (复盘): computed figures, completion rules, and JSON / HTML export."""

import hashlib
import json
import uuid
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EventType, IncidentStatus, Tier
from libs.contracts.response import (
    CompleteFollowUp,
    CompleteReview,
    ImprovementEntry,
    UpdateReview,
)
from libs.database.engine import transaction
from libs.database.tables import (
    ImprovementAction,
    Incident,
    IntegrationEvent,
    KeyFact,
    Mention,
    ResponseTask,
    ReviewReport,
    Statement,
    TimelineEvent,
    Watchlist,
    WatchlistHit,
)
from libs.messaging.worker import Outcome
from libs.privacy import DataKey, generate_key
from services.incidents.aftercare import service as affected
from services.incidents.review import export
from services.incidents.review import service as report
from services.incidents.tests.builders import (
    DETECTED_AT,
    Staged,
    add_user_command,
    command_about,
    stage_incident,
)
from tests.builders import Sessions

D = DETECTED_AT
H = timedelta(hours=1)
M = timedelta(minutes=1)
RESOLVED_AT = D + 10 * H
NOW = D + 40 * H
PHONE = "13800135678"


async def _hits(
    session: AsyncSession, watchlist: Watchlist, at: Any, sentiments: dict[str, int]
) -> None:
    """Store mentions matched by `watchlist`, posted at `at`, with the given sentiments."""
    offset = 0
    for sentiment, count in sentiments.items():
        for _ in range(count):
            posted = at + timedelta(seconds=offset)
            offset += 1
            text = f"奶粉 {sentiment} {uuid.uuid4()}"
            mention = Mention(
                organization_id=watchlist.organization_id,
                source="weibo",
                external_id=str(uuid.uuid4()),
                text=text,
                content_hash=hashlib.sha256(text.encode()).hexdigest(),
                posted_at=posted,
            )
            session.add(mention)
            await session.flush()
            session.add(
                WatchlistHit(
                    watchlist_id=watchlist.id,
                    posted_at=posted,
                    mention_id=mention.id,
                    organization_id=watchlist.organization_id,
                    sentiment=sentiment,
                )
            )


def _task(incident: Incident, position: int, kind: str, due: Any, **fields: Any) -> ResponseTask:
    return ResponseTask(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        kind=kind,
        title={
            "acknowledge": "确认事件并启动监测",
            "confirm_scope": "确认影响范围",
            "first_statement": "发布首次公开声明",
            "detailed_reply": "发布详细回应",
            "full_plan": "提交完整处置方案",
        }[kind],
        position=position,
        due_at=due,
        **fields,
    )


def _statement(
    incident: Incident, channel: str, body: str, created_at: Any, **fields: Any
) -> Statement:
    return Statement(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        channel=channel,
        body=body,
        created_by="key-spokesperson",
        created_at=created_at,
        **fields,
    )


async def _stage(sessions: async_sessionmaker[AsyncSession], key: DataKey) -> Staged:
    """A resolved orange incident: hits before/during/after, tasks, statements, users."""
    staged = await stage_incident(
        sessions,
        status=IncidentStatus.RESOLVED,
        detected_at=D,
        crisis_type="product_quality",
        acknowledged_at=D + 20 * M,
        acknowledged_by="key-monitor",
        resolved_at=RESOLVED_AT,
    )
    incident, watchlist = staged.incident, staged.watchlist
    organization_id = incident.organization_id
    async with transaction(sessions) as session:
        # Before: background chatter, then the first complaints.
        await _hits(session, watchlist, D - 20 * H, {"neutral": 1})
        await _hits(session, watchlist, D - 90 * M, {"negative": 1})
        await _hits(session, watchlist, D - 30 * M, {"negative": 3})
        # During: rises to a peak in the second hour and falls below half two hours later.
        await _hits(session, watchlist, D + 5 * M, {"negative": 8, "neutral": 2})
        await _hits(
            session, watchlist, D + H + 5 * M, {"negative": 15, "neutral": 4, "positive": 1}
        )
        await _hits(session, watchlist, D + 2 * H + 5 * M, {"negative": 10, "neutral": 2})
        await _hits(session, watchlist, D + 3 * H + 5 * M, {"negative": 6, "neutral": 3})
        for hour in range(4, 10):
            await _hits(session, watchlist, D + hour * H + 5 * M, {"negative": 1, "neutral": 1})
        # After resolution.
        await _hits(session, watchlist, RESOLVED_AT + H, {"positive": 1})
        await _hits(session, watchlist, RESOLVED_AT + 2 * H, {"neutral": 1})
        # Another watchlist's hits never count.
        other = Watchlist(organization_id=organization_id, name="米粉", keywords=["米粉"])
        session.add(other)
        await session.flush()
        await _hits(session, other, D + H, {"negative": 50})

        done = {"status": "done", "completed_by": "key-responder"}
        session.add_all(
            [
                _task(incident, 0, "acknowledge", D + 30 * M, completed_at=D + 20 * M, **done),
                _task(
                    incident,
                    1,
                    "confirm_scope",
                    D + 2 * H,
                    completed_at=D + 2 * H + 45 * M,
                    breached_at=D + 2 * H,
                    escalated_to="commander",
                    role="analyst",
                    **done,
                ),
                _task(incident, 2, "first_statement", D + 4 * H, completed_at=D + 3.5 * H, **done),
                _task(incident, 3, "detailed_reply", D + 24 * H, completed_at=D + 9 * H, **done),
                _task(incident, 4, "full_plan", D + 48 * H, status="open"),
            ]
        )
        session.add_all(
            [
                _statement(
                    incident,
                    "weibo",
                    "关于部分批次奶粉的说明",
                    D + 2 * H,
                    status="published",
                    review_level=3,
                    published_url="https://weibo.example/1",
                    published_at=D + 3.5 * H,
                ),
                _statement(
                    incident,
                    "wechat",
                    "致消费者的一封信",
                    D + 2 * H + M,
                    status="published",
                    review_level=3,
                    flags=[
                        {
                            "kind": "conflict",
                            "quantity": "amount",
                            "unit": "元",
                            "expected": "500元",
                            "found": "300元",
                            "channel": "weibo",
                        },
                        {
                            "kind": "missing_fact",
                            "label": "召回批次",
                            "expected": "3批次",
                            "found": None,
                            "channel": "wechat",
                        },
                    ],
                    published_at=D + 4 * H + 10 * M,
                ),
                _statement(incident, "douyin", "视频脚本", D + 3 * H, status="draft"),
                KeyFact(
                    organization_id=organization_id,
                    incident_id=incident.id,
                    label="赔偿金额",
                    value="每罐500元",
                ),
            ]
        )
    for name, contact, amount in [("张三", PHONE, 500.0), ("欧阳娜娜", "13912345678", None)]:
        command = add_user_command(
            incident,
            name=name,
            contact=contact,
            follow_up_due_at=D + 30 * H,
            compensation_amount=amount,
        )
        async with transaction(sessions) as session:
            outcome = await affected.add_affected_user(session, command, key, now=D + 6 * H)
        assert outcome.result is not None and outcome.result.ok, outcome.result
        if amount is None:
            [follow_up] = outcome.result.data["tasks"]
            async with transaction(sessions) as session:
                await affected.complete_follow_up(
                    session,
                    CompleteFollowUp(
                        organization_id=organization_id,
                        actor="key-cs",
                        task_id=uuid.UUID(follow_up["id"]),
                    ),
                    now=D + 8 * H,
                )
    return staged


async def _draft(sessions: async_sessionmaker[AsyncSession], incident: Incident) -> ReviewReport:
    async with transaction(sessions) as session:
        return await report.draft_review(session, incident.id, now=NOW)


async def _count(sessions: async_sessionmaker[AsyncSession], query: Any) -> int:
    async with sessions() as session:
        return int((await session.exec(query)).one())


async def test_draft_computes_timing_volume_channels_tasks_and_follow_ups(
    rolled_back: Sessions,
) -> None:
    staged = await _stage(rolled_back, DataKey.from_base64(generate_key()))

    first = await _draft(rolled_back, staged.incident)
    again = await _draft(rolled_back, staged.incident)

    assert again.id == first.id and again.status == "draft"
    reports = select(func.count()).where(ReviewReport.incident_id == staged.incident.id)
    assert await _count(rolled_back, reports) == 1
    drafted = select(func.count()).where(
        TimelineEvent.kind == "review_drafted", TimelineEvent.incident_id == staged.incident.id
    )
    assert await _count(rolled_back, drafted) == 1
    sections = again.sections
    assert sections["computed_at"] == NOW.isoformat()

    stages = {stage["stage"]: stage for stage in sections["timing"]["stages"]}
    assert stages["detect"]["minutes"] == 90.0
    assert stages["detect"]["basis"] == "negative_mention"
    assert stages["detect"]["from"] == (D - 90 * M).isoformat()
    assert stages["detect"]["before_peak"] is True
    assert (stages["acknowledge"]["minutes"], stages["acknowledge"]["status"]) == (20.0, "met")
    assert stages["acknowledge"]["margin_minutes"] == 10.0
    assert (stages["confirm_scope"]["status"], stages["confirm_scope"]["margin_minutes"]) == (
        "missed",
        -45.0,
    )
    assert stages["confirm_scope"]["deadline_minutes"] == 120.0
    assert stages["first_statement"]["at"] == (D + 3.5 * H).isoformat()
    assert (stages["first_statement"]["status"], stages["first_statement"]["margin_minutes"]) == (
        "met",
        30.0,
    )
    assert (sections["timing"]["met"], sections["timing"]["missed"]) == (2, 1)

    volume = sections["volume"]
    phases = {phase["phase"]: phase for phase in volume["phases"]}
    assert (phases["before"]["total"], phases["before"]["negative"]) == (5, 4)
    assert len(phases["before"]["buckets"]) == 24
    assert phases["during"]["total"] == 10 + 20 + 12 + 9 + 6 * 2
    assert len(phases["during"]["buckets"]) == 10
    assert [slot["count"] for slot in phases["during"]["buckets"][:4]] == [10, 20, 12, 9]
    assert phases["during"]["buckets"][1] | {"start": None} == {
        "start": None,
        "count": 20,
        "positive": 1,
        "neutral": 4,
        "negative": 15,
    }
    assert (phases["after"]["total"], phases["after"]["positive"]) == (2, 1)
    assert phases["after"]["end"] == (RESOLVED_AT + 24 * H).isoformat()
    assert volume["peak"] == {"at": (D + H).isoformat(), "count": 20, "phase": "during"}
    assert volume["decay_hours"] == 2.0

    channels = sections["channels"]
    assert channels["published_channels"] == ["wechat", "weibo"]
    assert channels["flags"] == 2 and channels["flagged_channels"] == ["wechat"]
    assert "douyin" in channels["silent_channels"]
    by_channel = {c["channel"]: c for c in channels["channels"]}
    assert by_channel["weibo"]["first_published_at"] == (D + 3.5 * H).isoformat()
    assert by_channel["douyin"]["statements"][0]["status"] == "draft"
    assert channels["key_facts"] == [{"label": "赔偿金额", "value": "每罐500元"}]

    tasks = sections["tasks"]
    assert {k: tasks[k] for k in ("total", "done", "on_time", "late", "overdue", "open")} == {
        "total": 5,
        "done": 4,
        "on_time": 3,
        "late": 1,
        "overdue": 0,
        "open": 1,
    }
    assert tasks["missed"] == 1
    [missed] = [item for item in tasks["items"] if item["outcome"] == "late"]
    assert missed["kind"] == "confirm_scope" and missed["escalated_to"] == "commander"

    users = sections["affected_users"]
    assert users["users"] == 2
    assert users["follow_up"] == {"total": 2, "done": 1, "open": 1, "overdue": 1}
    assert users["compensation"] == {
        "total": 1,
        "done": 0,
        "open": 1,
        "overdue": 1,
        "amount_total": 500.0,
        "amount_paid": 0.0,
    }
    assert PHONE not in json.dumps(sections) and "138****5678" not in json.dumps(sections)


async def test_a_task_left_undone_past_its_deadline_counts_as_missed(
    rolled_back: Sessions,
) -> None:
    staged = await _stage(rolled_back, DataKey.from_base64(generate_key()))
    async with transaction(rolled_back) as session:
        task = (
            await session.exec(
                select(ResponseTask).where(
                    ResponseTask.incident_id == staged.incident.id,
                    ResponseTask.kind == "full_plan",
                )
            )
        ).one()
        task.due_at = D + 30 * H  # passed by NOW, never done, not yet seen by the watchdog
        session.add(task)

    sections = (await _draft(rolled_back, staged.incident)).sections

    assert (sections["tasks"]["overdue"], sections["tasks"]["missed"]) == (1, 2)


def _complete(incident: Incident) -> CompleteReview:
    return CompleteReview(
        organization_id=incident.organization_id, actor="key-commander", incident_id=incident.id
    )


async def _run(sessions: async_sessionmaker[AsyncSession], handler: Any, command: Any) -> Outcome:
    async with transaction(sessions) as session:
        outcome: Outcome = await handler(session, command, now=NOW)
    return outcome


async def test_completion_is_refused_until_root_cause_and_improvements_are_written(
    rolled_back: Sessions,
) -> None:
    staged = await _stage(rolled_back, DataKey.from_base64(generate_key()))
    incident = staged.incident
    await _draft(rolled_back, incident)

    refused = await _run(rolled_back, report.complete_review, _complete(incident))
    assert refused.result is not None and refused.result.error is not None
    assert (refused.result.error.code, refused.result.error.field) == ("Invalid", "rootCause")
    assert "status: draft" in refused.result.error.message and not refused.messages

    blank = command_about(UpdateReview, incident, "key-analyst", root_cause="   ")
    await _run(rolled_back, report.update_review, blank)
    refused = await _run(rolled_back, report.complete_review, _complete(incident))
    assert refused.result is not None and refused.result.error is not None
    assert refused.result.error.field == "rootCause"

    cause = command_about(
        UpdateReview, incident, "key-analyst", root_cause="供应商批次检测漏检，客服话术未及时更新"
    )
    updated = await _run(rolled_back, report.update_review, cause)
    assert updated.result is not None and updated.result.ok
    refused = await _run(rolled_back, report.complete_review, _complete(incident))
    assert refused.result is not None and refused.result.error is not None
    assert (refused.result.error.code, refused.result.error.field) == ("Invalid", "improvements")

    improvements = UpdateReview(
        organization_id=incident.organization_id,
        actor="key-analyst",
        incident_id=incident.id,
        improvements=[
            ImprovementEntry(action="上线批次抽检双人复核", owner="质量部"),
            ImprovementEntry(action="更新客服问答库", owner="客服部", due_at=D + 7 * 24 * H),
        ],
    )
    updated = await _run(rolled_back, report.update_review, improvements)
    assert updated.result is not None and updated.result.ok
    assert [a["action"] for a in updated.result.data["improvements"]] == [
        "上线批次抽检双人复核",
        "更新客服问答库",
    ]
    assert updated.result.data["root_cause"] == "供应商批次检测漏检，客服话术未及时更新"

    completed = await _run(rolled_back, report.complete_review, _complete(incident))
    assert completed.result is not None and completed.result.ok, completed.result
    assert completed.result.data["status"] == "complete"
    assert completed.result.data["completed_by"] == "key-commander"
    [event] = completed.messages
    assert event.type is EventType.REVIEW_COMPLETED  # type: ignore[attr-defined]
    assert event.payload["review_id"] == completed.result.data["id"]  # type: ignore[attr-defined]

    again = await _run(rolled_back, report.complete_review, _complete(incident))
    assert again.result is not None and again.result.ok and not again.messages
    stored = select(func.count()).where(
        IntegrationEvent.type == "review.completed", IntegrationEvent.incident_id == incident.id
    )
    assert await _count(rolled_back, stored) == 1
    completed_events = select(func.count()).where(
        TimelineEvent.kind == "review_completed", TimelineEvent.incident_id == incident.id
    )
    assert await _count(rolled_back, completed_events) == 1

    frozen = await _run(rolled_back, report.update_review, cause)
    assert frozen.result is not None and frozen.result.error is not None
    assert frozen.result.error.code == "Conflict"
    # Drafting again (a late resolve) leaves a completed review as it was.
    assert (await _draft(rolled_back, incident)).status == "complete"


async def test_improvements_are_replaced_keeping_rows_that_stay(
    rolled_back: Sessions,
) -> None:
    staged = await _stage(rolled_back, DataKey.from_base64(generate_key()))
    incident = staged.incident

    def _update(*entries: tuple[str, str]) -> UpdateReview:
        return command_about(
            UpdateReview,
            incident,
            "key-analyst",
            improvements=[ImprovementEntry(action=a, owner=o) for a, o in entries],
        )

    first = await _run(
        rolled_back, report.update_review, _update(("甲", "质量部"), ("乙", "客服部"))
    )
    second = await _run(
        rolled_back, report.update_review, _update(("乙", "客服部"), ("丙", "法务部"))
    )

    assert first.result is not None and second.result is not None
    kept = {a["action"]: a["id"] for a in first.result.data["improvements"]}
    now_ = {a["action"]: a["id"] for a in second.result.data["improvements"]}
    assert set(now_) == {"乙", "丙"} and now_["乙"] == kept["乙"]
    async with rolled_back() as session:
        rows = (
            await session.exec(
                select(ImprovementAction).where(ImprovementAction.incident_id == incident.id)
            )
        ).all()
    assert sorted(row.action for row in rows) == ["丙", "乙"]
    assert all(row.watchlist_id == staged.watchlist.id for row in rows)


async def test_a_review_of_an_open_incident_cannot_be_completed(
    rolled_back: Sessions,
) -> None:
    staged = await _stage(rolled_back, DataKey.from_base64(generate_key()))
    async with transaction(rolled_back) as session:
        incident = await session.get(Incident, staged.incident.id)
        assert incident is not None
        incident.status = IncidentStatus.RECOVERING.value
        incident.resolved_at = None
        session.add(incident)

    refused = await _run(rolled_back, report.complete_review, _complete(staged.incident))

    assert refused.result is not None and refused.result.error is not None
    assert refused.result.error.code == "InvalidTransition"
    assert "recovering" in refused.result.error.message


class _Document(HTMLParser):
    """Collects tags, attributes and text of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


async def test_exports_render_json_and_a_standalone_html_with_svg_charts(
    rolled_back: Sessions,
) -> None:
    staged = await _stage(rolled_back, DataKey.from_base64(generate_key()))
    incident = staged.incident
    await _run(
        rolled_back,
        report.update_review,
        command_about(
            UpdateReview,
            incident,
            "key-analyst",
            root_cause="检测漏检 <script>alert(1)</script> & 话术滞后",
            improvements=[ImprovementEntry(action="抽检双人复核", owner="质量部")],
        ),
    )
    async with rolled_back() as session:
        document = await report.load_review(session, incident.organization_id, incident.id)
        assert await report.load_review(session, uuid.uuid4(), incident.id) is None
    assert document is not None

    data = export.to_json(document)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert data["incident"]["id"] == str(incident.id)
    assert data["sections"]["volume"]["peak"]["count"] == 20
    assert data["improvements"][0]["owner"] == "质量部"

    html = export.to_html(document)
    parsed = _Document()
    parsed.feed(html)
    parsed.close()
    text = "".join(parsed.text)
    assert parsed.tags.count("svg") == 2
    assert "script" not in parsed.tags
    assert {"html", "head", "body", "style", "table"} <= set(parsed.tags)
    for heading in ("舆情事件复盘报告", "处置时效", "声量与情感走势", "渠道发布与口径一致性"):
        assert heading in text
    for heading in ("任务完成情况", "受影响用户回访", "根本原因", "改进措施"):
        assert heading in text
    assert "检测漏检 <script>alert(1)</script> & 话术滞后" in text  # shown as text, escaped
    assert "一致性提示 2 条" in text
    assert "超时45分钟" in text and "达标（提前10分钟）" in text
    assert "补偿金额合计 500 元，已兑付 0 元" in text
    assert "金额与微博不一致：本渠道为300元，微博为500元" in text
    assert "缺少关键事实「召回批次」（应为3批次）" in text
    assert "峰值" in text and "事件期间" in text
    # Labels are the shared vocabulary's, as everywhere else a person meets them.
    assert "数据分析师" in text and "总指挥" in text and "产品质量" in text
    assert "<td>官网</td>" in html and "官方网站" not in html
    links = [value for name, value in parsed.attributes if name in ("src", "href") and value]
    assert links == []
    assert "http://pygal.org" not in html and "<!--" not in html
    for clear in (PHONE, "13912345678", "张三", "欧阳娜娜", "138****5678"):
        assert clear not in html
        assert clear not in json.dumps(data, ensure_ascii=False)


async def test_html_of_an_incident_without_any_mentions_still_renders(
    rolled_back: Sessions,
) -> None:
    staged = await stage_incident(
        rolled_back,
        tier=Tier.YELLOW,
        status=IncidentStatus.RESOLVED,
        detected_at=D,
        resolved_at=D + 45 * M,
        title="「奶粉」轻度舆情危机",
    )
    incident = staged.incident
    organization_id = incident.organization_id
    drafted = await _draft(rolled_back, incident)
    stages = {stage["stage"]: stage for stage in drafted.sections["timing"]["stages"]}
    assert stages["detect"]["status"] == "unknown"
    assert (stages["acknowledge"]["status"], stages["acknowledge"]["margin_minutes"]) == (
        "missed",
        -15.0,
    )
    assert stages["first_statement"]["status"] == "skipped"
    assert drafted.sections["volume"]["peak"] is None

    async with rolled_back() as session:
        document = await report.load_review(session, organization_id, incident.id)
    assert document is not None
    parsed = _Document()
    parsed.feed(export.to_html(document))
    assert "svg" not in parsed.tags
    assert "暂无声量数据" in "".join(parsed.text)
