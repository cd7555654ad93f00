"""Statements on real PostgreSQL: review order, legal for red, rejection, flags, publication."""

import itertools
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from libs.contracts.enums import (
    Channel,
    EventType,
    IncidentStatus,
    ReviewDecision,
    ReviewStage,
    Tier,
)
from libs.contracts.events import StatementPublished
from libs.contracts.messages import CommandResult, Message
from libs.contracts.outcome import Outcome
from libs.contracts.response import (
    DraftStatement,
    IntegrationEventEmitted,
    KeyFactEntry,
    PublishStatement,
    ReviewStatement,
    ReviseStatement,
    SetKeyFacts,
)
from libs.database.engine import transaction
from libs.database.tables import (
    Incident,
    IntegrationEvent,
    Statement,
    StatementReview,
)
from services.incidents import events
from services.incidents.statements import approval
from services.incidents.statements import service as statements
from services.incidents.tests.builders import (
    command_about,
    run,
    stage_incident,
    timeline_of,
)
from tests.builders import Sessions

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)
# Each step happens a second after the previous one, so the timeline has a strict order.
_SECONDS = itertools.count(1)


def _tick() -> datetime:
    return NOW + timedelta(seconds=next(_SECONDS))


WECHAT_BODY = (
    "关于部分批次奶粉的情况说明：经核查，本次共召回三个批次产品，召回自2026年3月5日起，"
    "每位用户补偿人民币1,200元。"
)
WEIBO_WRONG = "我们将召回4批次产品，3月6日起办理，每位用户补偿1200元。"
WEIBO_FIXED = "我们将召回3批次产品，3月5日起办理，每位用户补偿1200元。"
FACTS = [
    KeyFactEntry(label="召回批次", value="3批次"),
    KeyFactEntry(label="召回日期", value="2026年3月5日"),
]


async def _incident(
    sessions: Sessions, tier: Tier, *, status: IncidentStatus = IncidentStatus.RESPONDING
) -> Incident:
    staged = await stage_incident(
        sessions, tier=tier, status=status, detected_at=NOW - timedelta(hours=2)
    )
    return staged.incident


async def _run(
    sessions: Sessions,
    handler: Callable[..., Awaitable[Outcome]],
    command: Any,
    at: datetime | None = None,
) -> tuple[CommandResult, list[Message]]:
    return await run(sessions, handler, command, now=at or _tick())


async def _draft(
    sessions: Sessions,
    incident: Incident,
    channel: Channel,
    body: str,
    at: datetime | None = None,
) -> CommandResult:
    result, messages = await _run(
        sessions,
        statements.draft_statement,
        command_about(DraftStatement, incident, "key-writer", channel=channel, body=body),
        at,
    )
    assert messages == []
    return result


def _review_command(
    incident: Incident,
    statement_id: str,
    stage: ReviewStage,
    decision: ReviewDecision = ReviewDecision.APPROVE,
    note: str | None = None,
    actor: str = "key-reviewer",
) -> ReviewStatement:
    return ReviewStatement(
        organization_id=incident.organization_id,
        actor=actor,
        statement_id=uuid.UUID(statement_id),
        stage=stage,
        decision=decision,
        note=note,
    )


async def _review(
    sessions: Sessions,
    incident: Incident,
    statement_id: str,
    stage: ReviewStage,
    decision: ReviewDecision = ReviewDecision.APPROVE,
    note: str | None = None,
) -> CommandResult:
    result, messages = await _run(
        sessions,
        approval.review_statement,
        _review_command(incident, statement_id, stage, decision, note),
    )
    assert messages == []
    return result


async def _approve_levels(sessions: Sessions, incident: Incident, statement_id: str) -> None:
    for stage in (ReviewStage.LEVEL_1, ReviewStage.LEVEL_2, ReviewStage.LEVEL_3):
        result = await _review(sessions, incident, statement_id, stage)
        assert result.ok, result.error


def _publish_command(incident: Incident, statement_id: str) -> PublishStatement:
    return PublishStatement(
        organization_id=incident.organization_id,
        actor="key-spokesperson",
        statement_id=uuid.UUID(statement_id),
        url="https://mp.weixin.qq.com/s/abc",
        published_at=NOW + timedelta(minutes=30),
    )


async def _publish(
    sessions: Sessions, incident: Incident, statement_id: str
) -> tuple[CommandResult, list[Message]]:
    command = _publish_command(incident, statement_id)
    return await _run(sessions, statements.publish_statement, command, command.published_at)


async def _revise(
    sessions: Sessions, incident: Incident, statement_id: str, body: str
) -> CommandResult:
    command = ReviseStatement(
        organization_id=incident.organization_id,
        actor="key-writer",
        statement_id=uuid.UUID(statement_id),
        body=body,
    )
    result, _ = await _run(sessions, statements.revise_statement, command)
    return result


async def _set_facts(
    sessions: Sessions, incident: Incident, facts: list[KeyFactEntry]
) -> CommandResult:
    result, _ = await _run(
        sessions,
        statements.set_key_facts,
        command_about(SetKeyFacts, incident, "key-commander", facts=facts),
    )
    return result


def _unsaved(incident_id: uuid.UUID, beside: Incident) -> Incident:
    """Return an incident that is not stored, naming `incident_id` in `beside`'s organization."""
    return Incident(
        id=incident_id,
        organization_id=beside.organization_id,
        watchlist_id=beside.watchlist_id,
        title="x",
        tier="yellow",
        status="responding",
        detected_at=NOW,
    )


async def _stored(sessions: Sessions, statement_id: str) -> Statement:
    async with sessions() as session:
        statement = await session.get(Statement, uuid.UUID(statement_id))
    assert statement is not None
    return statement


async def _stage_refused(
    sessions: Sessions, incident: Incident, statement_id: str, stage: ReviewStage, *words: str
) -> None:
    """Assert that reviewing `stage` now is an invalid transition whose message names `words`."""
    result = await _review(sessions, incident, statement_id, stage)
    _refused(result, "InvalidTransition", "stage", *words)


def _refused(result: CommandResult, code: str, field: str, *words: str) -> None:
    assert not result.ok
    assert result.error is not None
    assert (result.error.code, result.error.field) == (code, field), result.error
    for word in words:
        assert word in result.error.message, result.error.message


async def test_yellow_statement_goes_through_three_levels_in_order_and_is_published(
    rolled_back: Sessions,
) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    drafted = await _draft(rolled_back, incident, Channel.WECHAT, WECHAT_BODY)
    assert drafted.ok, drafted.error
    sid = drafted.data["id"]
    assert drafted.data["status"] == "draft"
    assert drafted.data["legal_required"] is False
    assert drafted.data["pending_stages"] == ["level_1", "level_2", "level_3"]

    await _stage_refused(rolled_back, incident, sid, ReviewStage.LEVEL_2, "level_1", "draft")
    _refused(
        await _review(rolled_back, incident, sid, ReviewStage.LEGAL),
        "Invalid",
        "stage",
        "red",
        "yellow",
    )
    first = await _review(rolled_back, incident, sid, ReviewStage.LEVEL_1, note="口径无误")
    assert (first.data["status"], first.data["review_level"]) == ("in_review", 1)
    await _stage_refused(rolled_back, incident, sid, ReviewStage.LEVEL_1, "already approved")
    await _stage_refused(rolled_back, incident, sid, ReviewStage.LEVEL_3, "level_2", "in_review")
    result, _ = await _publish(rolled_back, incident, sid)
    _refused(result, "InvalidTransition", "statementId", "in_review", "approved")

    assert (await _review(rolled_back, incident, sid, ReviewStage.LEVEL_2)).data["status"] == (
        "in_review"
    )
    approved = await _review(rolled_back, incident, sid, ReviewStage.LEVEL_3)
    assert approved.data["status"] == "approved"
    assert approved.data["pending_stages"] == []

    published, messages = await _publish(rolled_back, incident, sid)
    assert published.ok, published.error
    assert published.data["status"] == "published"
    assert published.data["published_url"] == "https://mp.weixin.qq.com/s/abc"
    assert published.data["published_at"] == (NOW + timedelta(minutes=30)).isoformat()
    (event,) = messages
    assert isinstance(event, IntegrationEventEmitted)
    assert event.type == EventType.STATEMENT_PUBLISHED
    assert event.event_id == events.event_id(EventType.STATEMENT_PUBLISHED, sid)
    assert event.payload["channel"] == "wechat"

    stored = await _stored(rolled_back, sid)
    assert stored.status == "published" and stored.published_at == NOW + timedelta(minutes=30)

    timeline = await timeline_of(rolled_back, incident)
    assert [(e.kind, e.actor) for e in timeline] == [
        ("statement_drafted", "key-writer"),
        ("statement_reviewed", "key-reviewer"),
        ("statement_reviewed", "key-reviewer"),
        ("statement_approved", "key-reviewer"),
        ("statement_published", "key-spokesperson"),
    ]
    assert timeline[0].message == "微信公众号声明草稿已起草"
    assert timeline[1].message == "微信公众号声明通过一级审核，意见：口径无误"
    assert timeline[3].message == "微信公众号声明通过三级审核，审核完成，可以发布"
    assert timeline[4].message == "微信公众号声明已发布，链接：https://mp.weixin.qq.com/s/abc"

    async with rolled_back() as session:
        reviews = (
            await session.exec(
                select(StatementReview).where(StatementReview.statement_id == uuid.UUID(sid))
            )
        ).all()
    assert sorted(r.stage for r in reviews) == ["level_1", "level_2", "level_3"]
    assert {r.decision for r in reviews} == {"approve"}


async def test_statement_published_event_is_written_once(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    sid = (await _draft(rolled_back, incident, Channel.WEBSITE, "情况说明")).data["id"]
    await _approve_levels(rolled_back, incident, sid)
    _, messages = await _publish(rolled_back, incident, sid)
    assert len(messages) == 1

    again, again_messages = await _publish(rolled_back, incident, sid)
    _refused(again, "InvalidTransition", "statementId", "published")
    assert again_messages == []
    # A redelivered publication records the same event id, which is stored once.
    async with transaction(rolled_back) as session:
        replayed = StatementPublished(
            statement_id=uuid.UUID(sid),
            incident_id=incident.id,
            channel="website",
            url=None,
            published_at=NOW,
        )
        replay = await events.record(
            session, replayed, incident.organization_id, incident.id, key=sid, at=NOW
        )
    assert isinstance(messages[0], IntegrationEventEmitted)
    assert replay.event_id == messages[0].event_id
    async with rolled_back() as session:
        count = (
            await session.exec(
                select(func.count())
                .select_from(IntegrationEvent)
                .where(
                    IntegrationEvent.type == "statement.published",
                    IntegrationEvent.incident_id == incident.id,
                )
            )
        ).one()
    assert count == 1


async def test_red_incident_needs_legal_approval_after_level_1(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.RED)
    sid = (await _draft(rolled_back, incident, Channel.WEIBO, "情况说明")).data["id"]

    await _stage_refused(rolled_back, incident, sid, ReviewStage.LEGAL, "level_1")
    await _approve_levels(rolled_back, incident, sid)
    waiting = await _stored(rolled_back, sid)
    assert (waiting.status, waiting.review_level) == ("in_review", 3)
    result, _ = await _publish(rolled_back, incident, sid)
    _refused(result, "InvalidTransition", "statementId", "in_review")

    legal = await _review(rolled_back, incident, sid, ReviewStage.LEGAL, note="无法律风险")
    assert legal.data["status"] == "approved"
    assert legal.data["legal_approved"] is True
    _refused(
        await _review(rolled_back, incident, sid, ReviewStage.LEGAL),
        "InvalidTransition",
        "statementId",
        "approved",
    )
    published, messages = await _publish(rolled_back, incident, sid)
    assert published.ok and len(messages) == 1

    # Legal may also sign off in parallel with levels 2 and 3; level 3 then completes it.
    other = (await _draft(rolled_back, incident, Channel.DOUYIN, "视频说明")).data["id"]
    for stage in (ReviewStage.LEVEL_1, ReviewStage.LEGAL, ReviewStage.LEVEL_2):
        assert (await _review(rolled_back, incident, other, stage)).data["status"] == "in_review"
    assert (await _review(rolled_back, incident, other, ReviewStage.LEVEL_3)).data["status"] == (
        "approved"
    )
    kinds = [
        e.kind for e in await timeline_of(rolled_back, incident) if e.data["statement_id"] == other
    ]
    assert kinds[-1] == "statement_approved"


async def test_rejection_sends_the_statement_back_to_draft_with_the_note(
    rolled_back: Sessions,
) -> None:
    incident = await _incident(rolled_back, Tier.ORANGE)
    sid = (await _draft(rolled_back, incident, Channel.XIAOHONGSHU, "说明")).data["id"]
    await _review(rolled_back, incident, sid, ReviewStage.LEVEL_1)

    _refused(
        await _review(rolled_back, incident, sid, ReviewStage.LEVEL_2, ReviewDecision.REJECT),
        "Invalid",
        "note",
    )
    rejected = await _review(
        rolled_back, incident, sid, ReviewStage.LEVEL_2, ReviewDecision.REJECT, "语气过硬，需致歉"
    )
    assert (rejected.data["status"], rejected.data["review_level"]) == ("draft", 0)
    await _stage_refused(rolled_back, incident, sid, ReviewStage.LEVEL_2, "level_1", "draft")
    events_ = await timeline_of(rolled_back, incident)
    assert events_[-1].kind == "statement_rejected"
    assert events_[-1].message == "小红书声明未通过二级审核，退回草稿，意见：语气过硬，需致歉"
    async with rolled_back() as session:
        reviews = (
            await session.exec(
                select(StatementReview)
                .where(StatementReview.statement_id == uuid.UUID(sid))
                .order_by(col(StatementReview.stage))
            )
        ).all()
    assert [(r.stage, r.decision, r.note) for r in reviews] == [
        ("level_1", "approve", None),
        ("level_2", "reject", "语气过硬，需致歉"),
    ]


async def test_revision_restarts_the_reviews(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.RED)
    sid = (await _draft(rolled_back, incident, Channel.WECHAT, "初稿")).data["id"]
    await _review(rolled_back, incident, sid, ReviewStage.LEVEL_1)
    await _review(rolled_back, incident, sid, ReviewStage.LEGAL)
    await _review(rolled_back, incident, sid, ReviewStage.LEVEL_2)

    revised = await _revise(rolled_back, incident, sid, "修改稿")
    assert revised.ok, revised.error
    assert revised.data["body"] == "修改稿"
    assert (revised.data["status"], revised.data["review_level"]) == ("draft", 0)
    assert revised.data["legal_approved"] is False
    assert revised.data["pending_stages"] == ["level_1", "level_2", "level_3", "legal"]
    await _stage_refused(rolled_back, incident, sid, ReviewStage.LEVEL_3, "level_2")
    assert (await timeline_of(rolled_back, incident))[
        -1
    ].message == "微信公众号声明已修改，审核重新开始"


async def test_one_unpublished_statement_per_channel_and_updates_after_publication(
    rolled_back: Sessions,
) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    sid = (await _draft(rolled_back, incident, Channel.WEIBO, "首发")).data["id"]
    _refused(
        await _draft(rolled_back, incident, Channel.WEIBO, "另一稿"),
        "Conflict",
        "channel",
        sid,
        "draft",
    )
    assert (await _draft(rolled_back, incident, Channel.WECHAT, "公众号稿")).ok

    await _approve_levels(rolled_back, incident, sid)
    await _publish(rolled_back, incident, sid)
    revise = await _revise(rolled_back, incident, sid, "改")
    _refused(revise, "InvalidTransition", "statementId", "published", "续报")

    update = await _draft(
        rolled_back, incident, Channel.WEIBO, "续报：处理进展", NOW + timedelta(hours=1)
    )
    assert update.ok and update.data["update"] is True
    assert (await timeline_of(rolled_back, incident))[-1].message == "微博续报草稿已起草"


async def test_closed_and_false_alarm_incidents_take_no_statements(rolled_back: Sessions) -> None:
    for status in (IncidentStatus.CLOSED, IncidentStatus.FALSE_ALARM):
        incident = await _incident(rolled_back, Tier.YELLOW, status=status)
        _refused(
            await _draft(rolled_back, incident, Channel.WECHAT, "说明"),
            "Conflict",
            "incidentId",
            status.value,
        )
        _refused(await _set_facts(rolled_back, incident, FACTS), "Conflict", "incidentId")


async def test_another_organization_cannot_touch_a_statement(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    sid = (await _draft(rolled_back, incident, Channel.WECHAT, "说明")).data["id"]
    stranger = await _incident(rolled_back, Tier.YELLOW)
    _refused(
        await _review(rolled_back, stranger, sid, ReviewStage.LEVEL_1), "NotFound", "statementId"
    )
    theirs = _unsaved(incident.id, stranger)
    _refused(await _draft(rolled_back, theirs, Channel.WEIBO, "说明"), "NotFound", "incidentId")


async def test_flags_block_final_approval_until_the_statements_agree(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    assert (await _set_facts(rolled_back, incident, FACTS)).ok
    wechat = (await _draft(rolled_back, incident, Channel.WECHAT, WECHAT_BODY)).data
    assert wechat["flags"] == []
    weibo = (await _draft(rolled_back, incident, Channel.WEIBO, WEIBO_WRONG)).data

    assert weibo["flags"] == [
        {
            "kind": "missing_fact",
            "label": "召回批次",
            "expected": "3批次",
            "found": "4批次",
            "channel": "weibo",
        },
        {
            "kind": "missing_fact",
            "label": "召回日期",
            "expected": "2026年3月5日",
            "found": "--03-06",
            "channel": "weibo",
        },
        {
            "kind": "conflict",
            "quantity": "count",
            "unit": "批次",
            "expected": "3批次",
            "found": "4批次",
            "channel": "wechat",
        },
        {
            "kind": "conflict",
            "quantity": "date",
            "unit": "日期",
            "expected": "2026-03-05",
            "found": "--03-06",
            "channel": "wechat",
        },
    ]
    # The WeChat statement now conflicts with Weibo's too, though it carries every fact.
    assert [f["kind"] for f in (await _stored(rolled_back, wechat["id"])).flags] == [
        "conflict",
        "conflict",
    ]

    await _review(rolled_back, incident, weibo["id"], ReviewStage.LEVEL_1)
    await _review(rolled_back, incident, weibo["id"], ReviewStage.LEVEL_2)
    blocked = await _review(rolled_back, incident, weibo["id"], ReviewStage.LEVEL_3)
    _refused(blocked, "Invalid", "flags", "4 unresolved", "召回批次", "wechat states 3批次")
    assert (await _stored(rolled_back, weibo["id"])).status == "in_review"

    revised = await _revise(rolled_back, incident, weibo["id"], WEIBO_FIXED)
    assert revised.data["flags"] == []
    assert (await _stored(rolled_back, wechat["id"])).flags == []
    await _approve_levels(rolled_back, incident, weibo["id"])
    await _approve_levels(rolled_back, incident, wechat["id"])
    assert (await _stored(rolled_back, weibo["id"])).status == "approved"


async def test_an_amount_conflict_between_channels_is_flagged(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    await _draft(rolled_back, incident, Channel.WECHAT, "本次补偿总额12.5万元，每位用户¥1,200。")
    same = (await _draft(rolled_back, incident, Channel.WEBSITE, "补偿共计125,000元。")).data
    assert same["flags"] == []
    other = (await _draft(rolled_back, incident, Channel.DOUYIN, "每位用户补偿1500元")).data
    assert [(f["unit"], f["expected"], f["found"], f["channel"]) for f in other["flags"]] == [
        ("元", "125000元、1200元", "1500元", "wechat"),
        ("元", "125000元", "1500元", "website"),
    ]


async def test_key_facts_changes_recheck_statements_and_block_publication(
    rolled_back: Sessions,
) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    sid = (await _draft(rolled_back, incident, Channel.WECHAT, WECHAT_BODY)).data["id"]
    await _approve_levels(rolled_back, incident, sid)

    _refused(
        await _set_facts(
            rolled_back,
            incident,
            [KeyFactEntry(label="批次", value="3"), KeyFactEntry(label="批次", value="4")],
        ),
        "Invalid",
        "facts",
        "批次",
    )
    changed = await _set_facts(
        rolled_back, incident, [KeyFactEntry(label="客服热线", value="400-800-1234")]
    )
    assert changed.data["flags"][sid][0]["label"] == "客服热线"
    result, messages = await _publish(rolled_back, incident, sid)
    _refused(result, "Invalid", "flags", "客服热线")
    assert messages == []
    timeline = await timeline_of(rolled_back, incident)
    assert timeline[-1].kind == "key_facts_set"
    assert timeline[-1].message == "关键事实已更新：客服热线：400-800-1234"


async def test_an_update_supersedes_the_published_statement_in_the_checks(
    rolled_back: Sessions,
) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    wechat = (await _draft(rolled_back, incident, Channel.WECHAT, "共召回3批次产品")).data["id"]
    await _approve_levels(rolled_back, incident, wechat)
    await _publish(rolled_back, incident, wechat)

    weibo = (await _draft(rolled_back, incident, Channel.WEIBO, "共召回4批次产品")).data["id"]
    assert [f["channel"] for f in (await _stored(rolled_back, weibo)).flags] == ["wechat"]

    later = NOW + timedelta(hours=1)
    update = await _draft(rolled_back, incident, Channel.WECHAT, "续报：召回扩大至4批次", later)
    assert update.data["flags"] == []
    assert (await _stored(rolled_back, weibo)).flags == []
    # The superseded publication keeps the flags it last had, as a record.
    assert [f["found"] for f in (await _stored(rolled_back, wechat)).flags] == ["3批次"]


async def test_unknown_incident_and_statement_are_not_found(rolled_back: Sessions) -> None:
    incident = await _incident(rolled_back, Tier.YELLOW)
    _refused(
        await _review(rolled_back, incident, str(uuid.uuid4()), ReviewStage.LEVEL_1),
        "NotFound",
        "statementId",
    )
    ghost = _unsaved(uuid.uuid4(), incident)
    _refused(await _draft(rolled_back, ghost, Channel.WECHAT, "说明"), "NotFound", "incidentId")
