"""Situation reports every few hours of an open incident, and public progress-update tasks."""

from datetime import timedelta

from arq.connections import ArqRedis
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import StatementStatus, Tier
from libs.contracts.response import SendSituationReport
from libs.database.engine import transaction
from libs.database.tables import SituationReport, Statement
from libs.messaging.sweep import Sweep
from services.incidents.sitreps import service as sitreps
from services.incidents.tests.builders import (
    DETECTED_AT,
    events_of,
    make_watchlist,
    open_incident,
    run,
    tasks_of,
    timeline_of,
)
from tests.builders import Sessions, read_all


def _pass(sessions: Sessions, redis: ArqRedis, at: timedelta) -> Sweep:
    clock = FixedClock(DETECTED_AT + at)
    return Sweep(sitreps.SITUATION_REPORTS, sessions, redis, clock, interval=60.0,
                 producer="incidents")  # fmt: skip


async def _reports(sessions: Sessions, incident_id: object) -> list[SituationReport]:
    query = select(SituationReport).where(SituationReport.incident_id == incident_id)
    return await read_all(sessions, query.order_by(col(SituationReport.number)))


async def test_an_orange_incident_gets_a_report_every_four_hours_from_detection(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)

    await _pass(sessions, redis, timedelta(hours=3, minutes=59)).run_once()
    assert await _reports(sessions, incident.id) == []
    await _pass(sessions, redis, timedelta(hours=4, minutes=1)).run_once()
    await _pass(sessions, redis, timedelta(hours=4, minutes=2)).run_once()
    [first] = await _reports(sessions, incident.id)
    assert (first.number, first.status) == (1, "draft")
    assert (first.covers_from, first.covers_until) == (
        DETECTED_AT, DETECTED_AT + timedelta(hours=4, minutes=1)
    )  # fmt: skip
    assert first.tactical["conditions"][0] == "事件等级：中度，状态：已发现"
    assert first.tactical["conditions"][2] == "尚未发布公开声明"
    # The playbook's acknowledge task (30 minutes) is long overdue by now.
    assert any(n.startswith("逾期未完成：") for n in first.tactical["needs"])
    assert first.executive["status"] == "中度舆情危机·已发现"
    assert first.executive["overview"].startswith("发现后第 4 小时")
    assert len(first.executive["next_steps"]) == 3
    [drafted] = await timeline_of(sessions, incident, sitreps.DRAFTED)
    assert drafted.message == "第 1 期态势报告已生成，待审核发送"

    await _pass(sessions, redis, timedelta(hours=8, minutes=2)).run_once()
    _, second = await _reports(sessions, incident.id)
    assert (second.number, second.covers_from) == (2, first.covers_until)


async def test_sending_a_report_keeps_the_edits_and_tells_integrators_once(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.RED)
    await _pass(sessions, redis, timedelta(hours=2, minutes=1)).run_once()
    [report] = await _reports(sessions, incident.id)
    command = SendSituationReport(
        organization_id=incident.organization_id,
        actor="key-commander",
        report_id=report.id,
        overview="舆情仍在发酵，首次声明已进入三级审核",
        needs=["  ", "请法务于 20:00 前完成审核"],
    )
    answer, messages = await run(
        sessions, sitreps.send, command, now=DETECTED_AT + timedelta(hours=2, minutes=5)
    )
    assert answer.ok and len(messages) == 1
    [sent] = [e for e in await events_of(sessions, incident) if e.type == "situation_report.sent"]
    assert sent.payload["overview"] == "舆情仍在发酵，首次声明已进入三级审核"
    assert sent.payload["needs"] == ["请法务于 20:00 前完成审核"]
    assert sent.payload["conditions"] == report.tactical["conditions"]
    assert (sent.payload["number"], sent.payload["sent_by"]) == (1, "key-commander")
    again, _ = await run(sessions, sitreps.send, command, now=DETECTED_AT + timedelta(hours=3))
    assert again.error is not None and again.error.code == "Conflict"


async def test_a_published_statement_keeps_one_progress_update_task_open(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)
    await _pass(sessions, redis, timedelta(hours=1)).run_once()
    assert not [t for t in await tasks_of(sessions, incident) if t.kind.startswith("progress")]

    published_at = DETECTED_AT + timedelta(hours=3)
    async with transaction(sessions) as session:
        session.add(
            Statement(
                organization_id=incident.organization_id,
                incident_id=incident.id,
                channel="weibo",
                body="关于产品异味问题的情况说明",
                status=StatementStatus.PUBLISHED.value,
                published_at=published_at,
                created_by="key-spokesperson",
            )
        )
    await _pass(sessions, redis, timedelta(hours=3, minutes=5)).run_once()
    await _pass(sessions, redis, timedelta(hours=3, minutes=6)).run_once()
    [update] = [t for t in await tasks_of(sessions, incident) if t.kind.startswith("progress")]
    assert (update.kind, update.due_at) == ("progress_update_1", published_at + timedelta(hours=24))
    assert update.title == "发布第 1 次处理进展通报（定期更新处理进展）"

    async with transaction(sessions) as session:
        done = await session.get(type(update), update.id)
        assert done is not None
        done.status = "done"
    await _pass(sessions, redis, timedelta(hours=20)).run_once()
    updates = [t for t in await tasks_of(sessions, incident) if t.kind.startswith("progress")]
    assert [(t.kind, t.due_at) for t in updates][1] == (
        "progress_update_2", published_at + timedelta(hours=48)
    )  # fmt: skip
