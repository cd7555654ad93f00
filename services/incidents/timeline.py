"""The incident timeline: one append-only event, with actor and a Chinese message, per change."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, Tier
from libs.database.tables import Incident, TimelineEvent

SYSTEM_ACTOR = "system"

TIER_LABELS: dict[Tier, str] = {
    Tier.BLUE: "关注",
    Tier.YELLOW: "轻度",
    Tier.ORANGE: "中度",
    Tier.RED: "严重",
}

STATUS_LABELS: dict[IncidentStatus, str] = {
    IncidentStatus.DETECTED: "已发现",
    IncidentStatus.ACKNOWLEDGED: "已确认",
    IncidentStatus.ASSESSING: "评估中",
    IncidentStatus.RESPONDING: "处置中",
    IncidentStatus.RECOVERING: "恢复中",
    IncidentStatus.RESOLVED: "已解决",
    IncidentStatus.CLOSED: "已关闭",
    IncidentStatus.MERGED: "已合并",
    IncidentStatus.FALSE_ALARM: "误报",
}


class EventKind(StrEnum):
    """What kind of change a timeline event records."""

    OPENED = "opened"
    SIGNAL = "signal"
    TIER_CHANGED = "tier_changed"
    STATUS_CHANGED = "status_changed"
    TASK_DONE = "task_done"


def _signal_data(
    signal_id: uuid.UUID, tier: Tier, score: float, reasons: list[str]
) -> dict[str, Any]:
    return {
        "signal_id": str(signal_id),
        "tier": tier.value,
        "score": score,
        "reasons": list(reasons),
    }


def _reasons_text(reasons: list[str]) -> str:
    return f"，原因：{'；'.join(reasons)}" if reasons else ""


def record(
    session: AsyncSession,
    incident: Incident,
    kind: EventKind,
    message: str,
    *,
    at: datetime,
    actor: str = SYSTEM_ACTOR,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to `incident`'s timeline."""
    event = TimelineEvent(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        kind=kind.value,
        message=message,
        actor=actor,
        data=data or {},
        occurred_at=at,
    )
    session.add(event)
    return event


def opened(
    session: AsyncSession,
    incident: Incident,
    *,
    signal_id: uuid.UUID,
    tier: Tier,
    score: float,
    reasons: list[str],
    at: datetime,
) -> TimelineEvent:
    """Record that a signal opened `incident`."""
    message = f"风险信号触发{TIER_LABELS[tier]}预警，创建事件{_reasons_text(reasons)}"
    return record(
        session,
        incident,
        EventKind.OPENED,
        message,
        at=at,
        data=_signal_data(signal_id, tier, score, reasons),
    )


def signal_joined(
    session: AsyncSession,
    incident: Incident,
    *,
    signal_id: uuid.UUID,
    tier: Tier,
    score: float,
    reasons: list[str],
    at: datetime,
) -> TimelineEvent:
    """Record that a signal joined `incident` without changing its tier."""
    message = (
        f"新的{TIER_LABELS[tier]}风险信号并入事件，等级保持"
        f"{TIER_LABELS[Tier(incident.tier)]}{_reasons_text(reasons)}"
    )
    return record(
        session,
        incident,
        EventKind.SIGNAL,
        message,
        at=at,
        data=_signal_data(signal_id, tier, score, reasons),
    )


def tier_changed(
    session: AsyncSession,
    incident: Incident,
    *,
    previous: Tier,
    signal_id: uuid.UUID,
    score: float,
    reasons: list[str],
    at: datetime,
) -> TimelineEvent:
    """Record that a signal raised `incident` from `previous` to its current tier."""
    current = Tier(incident.tier)
    message = (
        f"风险等级由{TIER_LABELS[previous]}升级为{TIER_LABELS[current]}{_reasons_text(reasons)}"
    )
    data = {"from": previous.value, "to": current.value} | _signal_data(
        signal_id, current, score, reasons
    )
    return record(session, incident, EventKind.TIER_CHANGED, message, at=at, data=data)


def status_changed(
    session: AsyncSession,
    incident: Incident,
    *,
    previous: IncidentStatus,
    actor: str,
    note: str | None,
    at: datetime,
) -> TimelineEvent:
    """Record that `actor` moved `incident` from `previous` to its current status."""
    current = IncidentStatus(incident.status)
    message = f"事件状态由{STATUS_LABELS[previous]}变更为{STATUS_LABELS[current]}"
    if note:
        message += f"，备注：{note}"
    data = {"from": previous.value, "to": current.value, "note": note}
    return record(
        session, incident, EventKind.STATUS_CHANGED, message, at=at, actor=actor, data=data
    )


def task_done(
    session: AsyncSession,
    incident: Incident,
    *,
    kind: str,
    title: str,
    actor: str,
    at: datetime,
) -> TimelineEvent:
    """Record that `actor` completed the task `title` of `incident`."""
    return record(
        session,
        incident,
        EventKind.TASK_DONE,
        f"任务「{title}」已完成",
        at=at,
        actor=actor,
        data={"task": kind},
    )
