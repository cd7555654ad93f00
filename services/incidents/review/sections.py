"""The computed sections of a review (复盘), from what the incident's rows recorded.

Seed 002 §三(三) asks a review to evaluate each stage of the handling; these sections put
numbers on it: how long each stage took against its deadline, how the volume and sentiment
moved before, during and after (`volume`), which channels spoke and whether they agreed,
which tasks were done or missed, and how affected users were followed up. Everything here
is stored as plain JSON (ISO times, numbers, strings) in `review_report.sections`, so the
JSON export is the stored document and the HTML export renders the same figures.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Channel, FollowUpKind, Sentiment, TaskStatus
from libs.contracts.vocabulary import is_overdue
from libs.database.tables import Incident, ResponseTask, Statement
from services.incidents.answers import shown
from services.incidents.playbook.defaults import ACKNOWLEDGE, CONFIRM_SCOPE, FIRST_STATEMENT
from services.incidents.review import repository

# Task kinds whose completion marks a stage are the default playbook's (ACKNOWLEDGE, …).
# Deadlines from detection (及时性原则) used when the incident has no task carrying its own.
DEFAULT_DEADLINES: dict[str, timedelta] = {
    ACKNOWLEDGE: timedelta(minutes=30),
    CONFIRM_SCOPE: timedelta(hours=2),
    FIRST_STATEMENT: timedelta(hours=4),
}

WINDOW_BEFORE = timedelta(hours=24)


def iso(moment: datetime | None) -> str | None:
    """Return `moment` as ISO 8601 text, or None."""
    return moment.isoformat() if moment is not None else None


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


# --- timing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class FirstMention:
    """The earliest mention of the crisis, and how it was chosen."""

    posted_at: datetime
    basis: str  # "story", "negative_mention" or "mention"


async def first_mention_at(session: AsyncSession, incident: Incident) -> FirstMention | None:
    """Return when the crisis was first posted about, before it was detected.

    The incident's story pins it down when there is one; otherwise a watchlist always has
    background chatter, so the earliest negative mention of the 24 hours before detection
    stands for the start, and only failing that the earliest mention at all.
    """
    if incident.story_id is not None:
        found = await repository.earliest_hit(session, incident, story_id=incident.story_id)
        if found is not None:
            return FirstMention(found, "story")
    since = incident.detected_at - WINDOW_BEFORE
    negative = Sentiment.NEGATIVE.value
    found = await repository.earliest_hit(session, incident, since=since, sentiment=negative)
    if found is not None:
        return FirstMention(found, "negative_mention")
    found = await repository.earliest_hit(session, incident, since=since)
    return FirstMention(found, "mention") if found is not None else None


def timing_section(
    incident: Incident,
    tasks: list[ResponseTask],
    statements: list[Statement],
    first_mention: FirstMention | None,
    *,
    peak: dict[str, Any] | None,
    now: datetime,
) -> dict[str, Any]:
    """Return time to detect, acknowledge, confirm scope and first statement."""
    by_kind = {task.kind: task for task in tasks}
    acknowledged = incident.acknowledged_at or _completed(by_kind.get(ACKNOWLEDGE))
    published = [s.published_at for s in statements if s.published_at is not None]
    end = incident.resolved_at or now
    stages = [
        _detect_stage(incident, first_mention, peak),
        _stage(incident, ACKNOWLEDGE, "启动监测", acknowledged, by_kind, end=end, now=now),
        _stage(
            incident,
            CONFIRM_SCOPE,
            "确认影响范围",
            _completed(by_kind.get(CONFIRM_SCOPE)),
            by_kind,
            end=end,
            now=now,
        ),
        _stage(
            incident,
            FIRST_STATEMENT,
            "首次公开声明",
            min(published) if published else None,
            by_kind,
            end=end,
            now=now,
        ),
    ]
    return {
        "stages": stages,
        "met": sum(1 for stage in stages if stage["status"] == "met"),
        "missed": sum(1 for stage in stages if stage["status"] == "missed"),
    }


def _completed(task: ResponseTask | None) -> datetime | None:
    if task is None or task.status != TaskStatus.DONE.value:
        return None
    return task.completed_at


def _detect_stage(
    incident: Incident, first_mention: FirstMention | None, peak: dict[str, Any] | None
) -> dict[str, Any]:
    stage: dict[str, Any] = {
        "stage": "detect",
        "label": "发现",
        "from": iso(first_mention.posted_at) if first_mention else None,
        "at": iso(incident.detected_at),
        "minutes": None,
        "deadline_at": None,
        "deadline_minutes": None,
        "margin_minutes": None,
        "status": "unknown" if first_mention is None else "measured",
        "basis": first_mention.basis if first_mention else None,
        "before_peak": None,
    }
    if first_mention is not None:
        stage["minutes"] = _minutes(incident.detected_at - first_mention.posted_at)
    if peak is not None:
        # Negative posts reach most of their audience within 1–2 h (seed 001): detection
        # after the peak means the spread was seen only once it had happened.
        stage["before_peak"] = incident.detected_at <= datetime.fromisoformat(peak["at"])
    return stage


def _stage(
    incident: Incident,
    kind: str,
    label: str,
    done_at: datetime | None,
    by_kind: dict[str, ResponseTask],
    *,
    end: datetime,
    now: datetime,
) -> dict[str, Any]:
    task = by_kind.get(kind)
    deadline = task.due_at if task is not None else incident.detected_at + DEFAULT_DEADLINES[kind]
    if done_at is not None:
        status = "met" if done_at <= deadline else "missed"
        margin = _minutes(deadline - done_at)
    elif end > deadline:
        status, margin = "missed", _minutes(deadline - min(end, now))
    elif incident.resolved_at is not None:
        # The incident ended before this stage was due and it never happened.
        status, margin = "skipped", None
    else:
        status, margin = "pending", _minutes(deadline - now)
    return {
        "stage": kind,
        "label": label,
        "from": iso(incident.detected_at),
        "at": iso(done_at),
        "minutes": _minutes(done_at - incident.detected_at) if done_at else None,
        "deadline_at": iso(deadline),
        "deadline_minutes": _minutes(deadline - incident.detected_at),
        # Positive: ahead of the deadline; negative: late by that many minutes.
        "margin_minutes": margin,
        "status": status,
    }


# --- channels and consistency ----------------------------------------------------------------


async def channels_section(
    session: AsyncSession, incident: Incident, statements: list[Statement]
) -> dict[str, Any]:
    """Return each channel's statements with status, publication and consistency flags."""
    facts = await repository.key_facts(session, incident.id)
    channels = []
    for channel in Channel:
        own = [s for s in statements if s.channel == channel.value]
        published = sorted(s.published_at for s in own if s.published_at is not None)
        channels.append(
            {
                "channel": channel.value,
                "count": len(own),
                "published": bool(published),
                "first_published_at": iso(published[0]) if published else None,
                "flags": sum(len(s.flags) for s in own),
                "statements": [_statement(s) for s in own],
            }
        )
    return {
        "channels": channels,
        "published_channels": [c["channel"] for c in channels if c["published"]],
        "silent_channels": [c["channel"] for c in channels if not c["published"]],
        "flags": sum(c["flags"] for c in channels),
        "flagged_channels": [c["channel"] for c in channels if c["flags"]],
        "key_facts": [{"label": fact.label, "value": fact.value} for fact in facts],
    }


def _statement(statement: Statement) -> dict[str, Any]:
    return shown(
        statement,
        "id",
        "status",
        "review_level",
        "legal_approved",
        "published_at",
        "published_url",
        "flags",
    )


# --- tasks ----------------------------------------------------------------------------------


def task_outcome(task: ResponseTask, *, now: datetime) -> str:
    """Return on_time, late (done after its deadline), overdue (not done, past due) or open."""
    done = task.status == TaskStatus.DONE.value
    if done:
        late = task.breached_at is not None or (
            task.completed_at is not None and task.completed_at > task.due_at
        )
        return "late" if late else "on_time"
    overdue = is_overdue(TaskStatus(task.status), task.due_at, task.breached_at, now)
    return "overdue" if overdue else "open"


def tasks_section(tasks: list[ResponseTask], *, now: datetime) -> dict[str, Any]:
    """Return the response tasks with how each went; missed = late or overdue."""
    rows = [
        {
            "kind": task.kind,
            "title": task.title,
            "role": task.role,
            "channel": task.channel,
            "due_at": iso(task.due_at),
            "completed_at": iso(task.completed_at),
            "completed_by": task.completed_by,
            "status": task.status,
            "breached_at": iso(task.breached_at),
            "escalated_to": task.escalated_to,
            "outcome": task_outcome(task, now=now),
        }
        for task in tasks
    ]
    outcomes = [row["outcome"] for row in rows]
    return {
        "total": len(rows),
        "done": sum(1 for o in outcomes if o in ("on_time", "late")),
        "on_time": outcomes.count("on_time"),
        "late": outcomes.count("late"),
        "overdue": outcomes.count("overdue"),
        "open": outcomes.count("open"),
        "missed": outcomes.count("late") + outcomes.count("overdue"),
        "items": rows,
    }


# --- affected users -------------------------------------------------------------------------


async def affected_users_section(
    session: AsyncSession, incident: Incident, *, now: datetime
) -> dict[str, Any]:
    """Return counts of affected users and their follow-ups; never any personal data."""
    users = await repository.affected_user_count(session, incident.id)
    follow_ups = await repository.follow_ups(session, incident.id)
    section: dict[str, Any] = {"users": users}
    for kind in FollowUpKind:
        own = [task for task in follow_ups if task.kind == kind.value]
        done = [task for task in own if task.status == TaskStatus.DONE.value]
        open_ = [task for task in own if task.status != TaskStatus.DONE.value]
        counts: dict[str, Any] = {
            "total": len(own),
            "done": len(done),
            "open": len(open_),
            "overdue": sum(
                1 for task in open_ if is_overdue(TaskStatus(task.status), task.due_at, None, now)
            ),
        }
        if kind is FollowUpKind.COMPENSATION:
            counts["amount_total"] = round(sum(task.amount or 0 for task in own), 2)
            counts["amount_paid"] = round(sum(task.amount or 0 for task in done), 2)
        section[kind.value] = counts
    return section
