"""The incident timeline: one append-only event, with actor (the key or `system`), the person
who acted when there is one, and a Chinese message, per change.

Every appended event also stages a live notice, so `incidentUpdates` subscribers hear of the
change once the transaction commits; code that builds a `TimelineEvent` itself calls
`stage_notice` for the same reason.
"""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.acting import person_for
from libs.contracts.enums import IncidentStatus, Tier
from libs.contracts.messages import RiskSignalRaised, RiskTierFell
from libs.contracts.vocabulary import STATUS_LABELS, TIER_SEVERITY
from libs.database.tables import Incident, TimelineEvent
from libs.messaging import live
from services.incidents.repository import belonging_to

SYSTEM_ACTOR = "system"


class EventKind(StrEnum):
    """What kind of change a timeline event records."""

    OPENED = "opened"
    SIGNAL = "signal"
    TIER_CHANGED = "tier_changed"
    STATUS_CHANGED = "status_changed"
    TASK_DONE = "task_done"
    MERGED_IN = "merged_in"
    MEMBER_ASSIGNED = "member_assigned"
    RECURRENCE = "recurrence"
    RISK_FELL = "risk_fell"


def signal_data(signal: RiskSignalRaised, tier: Tier | None = None) -> dict[str, Any]:
    """Return what an event keeps of a signal: its id, tier (or `tier`), score and reasons."""
    return {
        "signal_id": str(signal.signal_id),
        "tier": (tier or signal.tier).value,
        "score": signal.score,
        "reasons": list(signal.reasons),
    }


def _reasons_text(reasons: list[str]) -> str:
    return f"，原因：{'；'.join(reasons)}" if reasons else ""


def record(
    session: AsyncSession,
    incident: Incident,
    kind: str,
    message: str,
    *,
    at: datetime,
    actor: str = SYSTEM_ACTOR,
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Append one event to `incident`'s timeline; `kind` is any module's event kind.

    When `actor` is the key that sent the command being applied, the event also names the
    person that key acts for (`libs.acting`).
    """
    event = TimelineEvent(
        **belonging_to(incident),
        kind=str(kind),
        message=message,
        actor=actor,
        person_id=person_for(session, actor),
        data=data or {},
        occurred_at=at,
    )
    session.add(event)
    stage_notice(session, event, incident)
    return event


def stage_notice(
    session: AsyncSession, event: TimelineEvent, incident: Incident | None = None
) -> None:
    """Hold the live notice of `event` until the transaction commits.

    `incident`, when the caller has it loaded, adds its status and tier for subscribers.
    """
    facts = live.IncidentFacts(
        event_id=event.id,
        change=event.kind,
        at=event.occurred_at,
        status=incident.status if incident is not None else None,
        tier=incident.tier if incident is not None else None,
    )
    live.stage(session, live.incident_notice(event.organization_id, event.incident_id, facts))


def opened(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, *, at: datetime
) -> TimelineEvent:
    """Record that `signal` opened `incident`."""
    reasons = _reasons_text(signal.reasons)
    message = f"风险信号触发{TIER_SEVERITY[signal.tier]}预警，创建事件{reasons}"
    return record(session, incident, EventKind.OPENED, message, at=at, data=signal_data(signal))


def signal_joined(
    session: AsyncSession, incident: Incident, signal: RiskSignalRaised, *, at: datetime
) -> TimelineEvent:
    """Record that `signal` joined `incident` without changing its tier."""
    message = (
        f"新的{TIER_SEVERITY[signal.tier]}风险信号并入事件，等级保持"
        f"{TIER_SEVERITY[Tier(incident.tier)]}{_reasons_text(signal.reasons)}"
    )
    return record(session, incident, EventKind.SIGNAL, message, at=at, data=signal_data(signal))


def tier_changed(
    session: AsyncSession,
    incident: Incident,
    signal: RiskSignalRaised,
    *,
    previous: Tier,
    added_tasks: list[str],
    at: datetime,
) -> TimelineEvent:
    """Record that `signal` raised `incident` from `previous` to its current tier."""
    current = Tier(incident.tier)
    message = (
        f"风险等级由{TIER_SEVERITY[previous]}升级为{TIER_SEVERITY[current]}"
        f"{_reasons_text(signal.reasons)}"
    )
    if added_tasks:
        message += f"；新增{len(added_tasks)}项处置任务"
    data = {"from": previous.value, "to": current.value} | signal_data(signal, current)
    data["added_tasks"] = list(added_tasks)
    return record(session, incident, EventKind.TIER_CHANGED, message, at=at, data=data)


def status_changed(
    session: AsyncSession,
    incident: Incident,
    *,
    previous: IncidentStatus,
    actor: str,
    note: str | None,
    at: datetime,
    extra: dict[str, Any] | None = None,
) -> TimelineEvent:
    """Record that `actor` moved `incident` from `previous` to its current status, and why.

    `note` is the reason given (a note for an acknowledgement); `extra` adds context such as
    the incident merged into or the signal that reopened it.
    """
    current = IncidentStatus(incident.status)
    message = f"事件状态由{STATUS_LABELS[previous]}变更为{STATUS_LABELS[current]}"
    if note:
        message += f"，原因：{note}"
    data: dict[str, Any] = {"from": previous.value, "to": current.value, "note": note}
    data |= extra or {}
    return record(
        session, incident, EventKind.STATUS_CHANGED, message, at=at, actor=actor, data=data
    )


def tier_set(
    session: AsyncSession,
    incident: Incident,
    *,
    previous: Tier,
    actor: str,
    reason: str,
    added_tasks: list[str],
    at: datetime,
) -> TimelineEvent:
    """Record that `actor` changed `incident`'s tier by hand, why, and which tasks it added."""
    current = Tier(incident.tier)
    verb = "升级" if current.rank > previous.rank else "调整"
    message = f"风险等级由{TIER_SEVERITY[previous]}{verb}为{TIER_SEVERITY[current]}，原因：{reason}"
    if added_tasks:
        message += f"；新增{len(added_tasks)}项处置任务"
    data = {
        "from": previous.value,
        "to": current.value,
        "reason": reason,
        "added_tasks": list(added_tasks),
    }
    return record(session, incident, EventKind.TIER_CHANGED, message, at=at, actor=actor, data=data)


def merged_in(
    session: AsyncSession,
    target: Incident,
    *,
    source: Incident,
    actor: str,
    reason: str,
    at: datetime,
) -> TimelineEvent:
    """Record on `target` that `source` was merged into it."""
    return record(
        session,
        target,
        EventKind.MERGED_IN,
        f"事件「{source.title}」并入本事件，原因：{reason}",
        at=at,
        actor=actor,
        data={"source_id": str(source.id), "reason": reason},
    )


def member_assigned(
    session: AsyncSession,
    incident: Incident,
    *,
    role_label: str,
    role: str,
    person: str,
    actor: str,
    at: datetime,
) -> TimelineEvent:
    """Record that `actor` put `person` in `role` on the incident's team."""
    return record(
        session,
        incident,
        EventKind.MEMBER_ASSIGNED,
        f"指派{person}担任{role_label}",
        at=at,
        actor=actor,
        data={"role": role, "person": person},
    )


def recurrence_linked(
    session: AsyncSession,
    incident: Incident,
    *,
    past: Incident,
    matched: list[str],
    reopened_actions: list[uuid.UUID],
    at: datetime,
) -> TimelineEvent:
    """Record that `incident` resembles the earlier `past` one and what was reopened."""
    labels = {"crisis_type": "危机类型相同", "story": "同一传播事件"}
    because = "、".join(labels[m] for m in matched)
    message = (
        f"与历史事件「{past.title}」（{past.detected_at:%Y-%m-%d}）相似：同一监测对象，{because}"
    )
    if reopened_actions:
        message += f"；重新打开{len(reopened_actions)}项未完成的改进措施"
    data = {
        "recurrence_of_id": str(past.id),
        "matched": list(matched),
        "reopened_actions": [str(a) for a in reopened_actions],
    }
    return record(session, incident, EventKind.RECURRENCE, message, at=at, data=data)


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


def risk_fell(
    session: AsyncSession,
    incident: Incident,
    fall: RiskTierFell,
    *,
    previous: Tier,
    held_by_hand: bool,
    suggested: IncidentStatus | None,
    at: datetime,
) -> TimelineEvent:
    """Record that the watchlist's risk fell, what it did to the tier, and what is suggested.

    `previous` is the incident's tier before; `held_by_hand` says a tier a person set kept
    the incident from following the fall; `suggested` is a status the team may move to.
    """
    to = TIER_SEVERITY[fall.tier] if fall.tier else "无预警"
    message = f"风险等级由{TIER_SEVERITY[fall.previous_tier]}回落至{to}"
    current = Tier(incident.tier)
    if current is not previous:
        message += f"，事件等级由{TIER_SEVERITY[previous]}下调为{TIER_SEVERITY[current]}"
        if held_by_hand:
            message += "（不低于人工设定的等级）"
    elif held_by_hand:
        message += f"，事件等级保持人工设定的{TIER_SEVERITY[current]}，未自动下调"
    if suggested is not None:
        message += f"；建议转入「{STATUS_LABELS[suggested]}」观察"
    data: dict[str, Any] = {
        "signal_id": str(fall.signal_id),
        "watchlist_id": str(fall.watchlist_id),
        "risk_from": fall.previous_tier.value,
        "risk_to": fall.tier.value if fall.tier else None,
        "score": fall.score,
        "from": previous.value,
        "to": current.value,
        "held_by_hand": held_by_hand,
        "suggested_status": suggested.value if suggested else None,
        "reasons": list(fall.reasons),
    }
    message += _reasons_text(fall.reasons)
    return record(session, incident, EventKind.RISK_FELL, message, at=at, data=data)
