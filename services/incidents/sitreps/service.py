"""Situation reports (态势报告) and public progress updates (透明性: 定期更新处理进展).

Every few hours of an open incident — two at red, four at orange, eight at yellow or blue —
the situation-report pass drafts the next report from what happened since the last one:
the figures (the watchlist's mentions and their negative share, against the period
before), the timeline, the tasks and the statements. The tactical part tells the team the
conditions, the actions taken and what is needed (overdue and coming tasks, statements
waiting for review); the executive part gives leadership the status, an overview and the
next steps. A person reviews it, may rewrite any part, and sends it: `situation_report.sent`
reaches the team's chat and webhooks, and the timeline records who sent it.

Once a statement is out, the public expects to hear again: the pass keeps one open
`progress_update_<n>` task for the spokesperson, due 12 hours (red) or 24 hours after the
later of the last publication and the previous update's deadline.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import (
    Channel,
    IncidentStatus,
    StatementStatus,
    TaskStatus,
    TeamRole,
    Tier,
)
from libs.contracts.events import SituationReportSent
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import SendSituationReport
from libs.contracts.vocabulary import CHANNEL_LABELS, ROLE_LABELS, STATUS_LABELS, TIER_SEVERITY
from libs.database.tables import Incident, ResponseTask, SituationReport, Statement
from libs.messaging.sweep import SweepSpec
from services.incidents import events, timeline
from services.incidents.answers import existing, refusal
from services.incidents.repository import belonging_to
from services.incidents.sitreps import repository

CADENCE = {
    Tier.RED: timedelta(hours=2),
    Tier.ORANGE: timedelta(hours=4),
    Tier.YELLOW: timedelta(hours=8),
    Tier.BLUE: timedelta(hours=8),
}
PUBLIC_UPDATE = {Tier.RED: timedelta(hours=12)}
PUBLIC_UPDATE_DEFAULT = timedelta(hours=24)
PROGRESS_UPDATE = "progress_update"
DRAFTED = "situation_report_drafted"
SENT = "situation_report_sent"
DRAFT = "draft"
SENT_STATUS = "sent"
BEIJING = timezone(timedelta(hours=8))
MOST_ACTIONS = 12


def _at(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%m-%d %H:%M")


async def settle(session: AsyncSession, incident_id: uuid.UUID, clock: Clock) -> Outcome:
    """Draft the incident's next report when one is due, and keep its progress task."""
    incident = await repository.incident_for_update(session, incident_id)
    if incident is None or not IncidentStatus(incident.status).is_open:
        return Outcome()
    now = clock.now()
    last = await repository.latest_report(session, incident.id)
    start = last.covers_until if last else incident.detected_at
    if now - start >= CADENCE[Tier(incident.tier)]:
        await _draft(session, incident, (last.number if last else 0) + 1, start, now)
    await _progress_update(session, incident, now)
    return Outcome()


async def _draft(
    session: AsyncSession, incident: Incident, number: int, start: datetime, end: datetime
) -> SituationReport:
    tasks = await repository.tasks(session, incident.id)
    statements = await repository.statements(session, incident.id)
    total, negative = await repository.hits(session, incident, start, end)
    before, _ = await repository.hits(session, incident, start - (end - start), start)
    entries = await repository.timeline_between(session, incident.id, start, end)
    tier, status = Tier(incident.tier), IncidentStatus(incident.status)
    published = sorted({CHANNEL_LABELS[Channel(s.channel)] for s in statements if s.published_at})
    share = f"{negative / total:.0%}" if total else "—"
    conditions = [
        f"事件等级：{TIER_SEVERITY[tier]}，状态：{STATUS_LABELS[status]}",
        f"本期（{_at(start)}–{_at(end)}）相关内容 {total} 条，负面 {negative} 条（{share}）；"
        f"上一同等时段 {before} 条",
        f"已发布声明：{'、'.join(published)}" if published else "尚未发布公开声明",
    ]
    actions = [f"{_at(e.occurred_at)} {e.message}" for e in entries if e.kind != "signal"]
    if len(actions) > MOST_ACTIONS:
        actions = [*actions[: MOST_ACTIONS - 1], f"等共 {len(actions)} 项"]
    needs = _needs(tasks, statements, end) or ["暂无"]
    done = sum(1 for t in tasks if t.status == TaskStatus.DONE)
    hours = int((end - incident.detected_at).total_seconds() // 3600)
    open_tasks = [t for t in tasks if t.status != TaskStatus.DONE]
    report = SituationReport(
        **belonging_to(incident),
        number=number,
        status=DRAFT,
        covers_from=start,
        covers_until=end,
        tactical={"conditions": conditions, "actions": actions or ["本期无新的处置动作"],
                  "needs": needs},
        executive={
            "status": f"{TIER_SEVERITY[tier]}舆情危机·{STATUS_LABELS[status]}",
            "overview": f"发现后第 {hours} 小时；本期相关内容 {total} 条（负面 {share}），"
            f"任务完成 {done}/{len(tasks)}，已发布声明 {len(published)} 个渠道。",
            "next_steps": [f"{t.title}（截止 {_at(t.due_at)}）" for t in open_tasks[:3]]
            or ["按计划推进，关注舆情变化"],
        },
        created_at=end,
    )  # fmt: skip
    session.add(report)
    timeline.record(
        session,
        incident,
        DRAFTED,
        f"第 {number} 期态势报告已生成，待审核发送",
        at=end,
        data={"report_id": str(report.id), "number": number},
    )
    await session.flush()
    return report


def _needs(
    tasks: Sequence[ResponseTask], statements: Sequence[Statement], now: datetime
) -> list[str]:
    """What the team must do now: overdue tasks, tasks due soon, statements awaiting review."""
    needs: list[str] = []
    for task in tasks:
        if task.status == TaskStatus.DONE:
            continue
        owner = ROLE_LABELS[TeamRole(task.role)] if task.role else "未指定角色"
        if task.due_at <= now:
            needs.append(f"逾期未完成：{task.title}（{owner}，截止 {_at(task.due_at)}）")
        elif task.due_at <= now + timedelta(hours=4):
            needs.append(f"即将到期：{task.title}（{owner}，截止 {_at(task.due_at)}）")
    for statement in statements:
        if statement.status == StatementStatus.IN_REVIEW:
            channel = CHANNEL_LABELS[Channel(statement.channel)]
            needs.append(f"待审核声明：{channel}（第 {statement.review_level + 1} 级审核）")
    return needs


async def _progress_update(session: AsyncSession, incident: Incident, now: datetime) -> None:
    """Keep one open public progress-update task once a statement is out."""
    statements = await repository.statements(session, incident.id)
    published = [s.published_at for s in statements if s.published_at is not None]
    if not published or IncidentStatus(incident.status) is IncidentStatus.RECOVERING:
        return
    tasks = await repository.tasks(session, incident.id)
    updates = [t for t in tasks if t.kind.startswith(PROGRESS_UPDATE)]
    if any(t.status != TaskStatus.DONE for t in updates):
        return
    every = PUBLIC_UPDATE.get(Tier(incident.tier), PUBLIC_UPDATE_DEFAULT)
    since = max([*published, *(t.due_at for t in updates)])
    number = len(updates) + 1
    session.add(
        ResponseTask(
            **belonging_to(incident),
            kind=f"{PROGRESS_UPDATE}_{number}",
            title=f"发布第 {number} 次处理进展通报（定期更新处理进展）",
            position=max((t.position for t in tasks), default=-1) + 1,
            due_at=since + every,
            status=TaskStatus.OPEN.value,
            role=TeamRole.SPOKESPERSON.value,
            created_at=now,
        )
    )
    await session.flush()


async def _due(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    return await repository.open_incidents(session)


SITUATION_REPORTS = SweepSpec("incidents-situation-reports", _due, settle)
"""The pass the incidents worker runs every `SITUATION_REPORT_CHECK_SECONDS`, once per cluster."""


def _lines(given: list[str] | None, kept: list[str]) -> list[str]:
    if given is None:
        return kept
    return [line.strip() for line in given if line.strip()]


@answering
async def send(session: AsyncSession, command: SendSituationReport, *, now: datetime) -> Outcome:
    """Send a drafted report as edited; a report already sent is refused."""
    report = await existing(
        session, SituationReport, command.organization_id, command.report_id,
        "situation report", "reportId", lock=True,
    )  # fmt: skip
    if report.status == SENT_STATUS:
        raise Refused(refusal(ErrorCode.CONFLICT, "this report was already sent", "reportId"))
    incident = await existing(
        session, Incident, command.organization_id, report.incident_id, "incident", "reportId"
    )
    tactical = {
        key: _lines(getattr(command, key), list(report.tactical.get(key, [])))
        for key in ("conditions", "actions", "needs")
    }
    overview = (command.overview or "").strip() or str(report.executive.get("overview", ""))
    next_steps = _lines(command.next_steps, list(report.executive.get("next_steps", [])))
    report.tactical = tactical
    report.executive = {**report.executive, "overview": overview, "next_steps": next_steps}
    report.status = SENT_STATUS
    report.sent_at = now
    report.sent_by = command.actor
    session.add(report)
    timeline.record(
        session,
        incident,
        SENT,
        f"第 {report.number} 期态势报告已发送",
        at=now,
        actor=command.actor,
        data={"report_id": str(report.id), "number": report.number},
    )
    await session.flush()
    body = SituationReportSent(
        report_id=report.id,
        incident_id=incident.id,
        number=report.number,
        covers_from=report.covers_from,
        covers_until=report.covers_until,
        conditions=tactical["conditions"],
        actions=tactical["actions"],
        needs=tactical["needs"],
        status=str(report.executive.get("status", "")),
        overview=overview,
        next_steps=next_steps,
        sent_by=command.actor,
    )
    sent = await events.record(
        session, body, incident.organization_id, incident.id, key=str(report.id), at=now
    )
    return Outcome.answer(CommandResult.success(id=str(report.id)), [sent])
