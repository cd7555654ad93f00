"""A drill's score card: each deadline met or missed, time to acknowledge, statements through
review, who took part.

Times are stream time: a drill played at `speed` 60 runs an hour of its crisis in a wall
minute, so a measured wall span counts `speed` times over. A task's deadline is the span the
playbook gave it from detection (its own clock: the playbook's); the task met it when done
within that span of stream time. Cards of different drills are comparable because they are
made by this one function from the same rows.
"""

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import StatementStatus
from libs.database.tables import Drill, Incident, ResponseTask
from services.analysis.drills import repository

MET, MISSED, OPEN = "met", "missed", "open"
_THROUGH_REVIEW = (StatementStatus.APPROVED.value, StatementStatus.PUBLISHED.value)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _stream(seconds: float, speed: float) -> float:
    return round(seconds * speed, 1)


def _deadline(
    task: ResponseTask, incident: Incident, drill: Drill, end: datetime
) -> dict[str, Any]:
    """Judge one task: done within its span of stream time, missed, or still open at the end."""
    allowed = (task.due_at - incident.detected_at).total_seconds()
    taken = None
    if task.completed_at is not None:
        taken = _stream((task.completed_at - incident.detected_at).total_seconds(), drill.speed)
    if taken is not None:
        outcome = MET if taken <= allowed else MISSED
    else:
        elapsed = _stream((end - incident.detected_at).total_seconds(), drill.speed)
        outcome = MISSED if elapsed > allowed else OPEN
    return {
        "incident_id": str(incident.id),
        "kind": task.kind,
        "title": task.title,
        "allowed_seconds": round(allowed, 1),
        "done_after_seconds": taken,
        "outcome": outcome,
    }


async def score(session: AsyncSession, drill: Drill, *, end: datetime) -> dict[str, Any]:
    """Return the score card of `drill` as its incidents stand at `end`."""
    incidents = await repository.incidents(session, drill.watchlist_id)
    by_id = {incident.id: incident for incident in incidents}
    ids = list(by_id)
    tasks = await repository.tasks(session, ids) if ids else []
    statements = await repository.statements(session, ids) if ids else []
    deadlines = [_deadline(task, by_id[task.incident_id], drill, end) for task in tasks]
    # The first incident's: a later one acknowledged sooner would hide a slow first response.
    first = incidents[0] if incidents else None
    acknowledged = (
        [_stream((first.acknowledged_at - first.detected_at).total_seconds(), drill.speed)]
        if first is not None and first.acknowledged_at is not None
        else []
    )
    return {
        "scenario": drill.scenario,
        "speed": drill.speed,
        "started_at": _iso(drill.started_at),
        "ended_at": _iso(end),
        "stream_seconds": _stream((end - drill.started_at).total_seconds(), drill.speed),
        "incidents": [
            {
                "id": str(i.id),
                "title": i.title,
                "tier": i.tier,
                "status": i.status,
                "detected_at": _iso(i.detected_at),
                "acknowledged_at": _iso(i.acknowledged_at),
            }
            for i in incidents
        ],
        "seconds_to_acknowledge": acknowledged[0] if acknowledged else None,
        "deadlines": deadlines,
        "deadlines_met": sum(1 for d in deadlines if d["outcome"] == MET),
        "deadlines_missed": sum(1 for d in deadlines if d["outcome"] == MISSED),
        "deadlines_open": sum(1 for d in deadlines if d["outcome"] == OPEN),
        "statements_drafted": len(statements),
        "statements_through_review": sum(1 for s in statements if s.status in _THROUGH_REVIEW),
        "statements_published": sum(
            1 for s in statements if s.status == StatementStatus.PUBLISHED.value
        ),
        "participants": await repository.people(session, ids) if ids else [],
    }
