"""The volume section of a review: hourly mentions and sentiment before, during and after.

The curve shows whether the response worked: the peak, and how many hours it took volume
to fall below half of it (its decay).
"""

import math
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Sentiment
from libs.database.tables import Incident
from services.incidents.review import repository
from services.incidents.review.sections import WINDOW_BEFORE, iso

WINDOW_AFTER = timedelta(hours=24)
BUCKET = timedelta(hours=1)
SENTIMENTS: tuple[str, ...] = tuple(sentiment.value for sentiment in Sentiment)


async def volume_section(
    session: AsyncSession, incident: Incident, *, now: datetime
) -> dict[str, Any]:
    """Return hourly volume and sentiment before, during and after, with peak and decay."""
    detected = incident.detected_at
    resolved = incident.resolved_at
    during_end = min(resolved or now, now)
    phases = [
        await _phase(session, incident, "before", detected - WINDOW_BEFORE, min(detected, now)),
        await _phase(session, incident, "during", detected, during_end),
    ]
    if resolved is not None:
        phases.append(
            await _phase(session, incident, "after", resolved, min(resolved + WINDOW_AFTER, now))
        )
    else:
        phases.append(_empty_phase("after"))
    peak, decay = _peak_and_decay(phases)
    return {"phases": phases, "peak": peak, "decay_hours": decay}


async def _phase(
    session: AsyncSession, incident: Incident, name: str, start: datetime, end: datetime
) -> dict[str, Any]:
    if end <= start:
        return _empty_phase(name)
    count = math.ceil((end - start) / BUCKET)
    buckets: list[dict[str, Any]] = [
        {"start": iso(start + index * BUCKET), "count": 0} | dict.fromkeys(SENTIMENTS, 0)
        for index in range(count)
    ]
    for index, sentiment, hits in await repository.hourly_hits(session, incident, start, end):
        slot = buckets[index]
        slot["count"] += hits
        if sentiment in SENTIMENTS:
            slot[sentiment] += hits
    total = sum(slot["count"] for slot in buckets)
    hours = (end - start) / BUCKET
    by_sentiment = {s: sum(slot[s] for slot in buckets) for s in SENTIMENTS}
    return {
        "phase": name,
        "start": iso(start),
        "end": iso(end),
        "hours": round(hours, 2),
        "total": total,
        "per_hour": round(total / hours, 2),
        **by_sentiment,
        "negative_share": round(by_sentiment["negative"] / total, 3) if total else None,
        "buckets": buckets,
    }


def _empty_phase(name: str) -> dict[str, Any]:
    return {
        "phase": name,
        "start": None,
        "end": None,
        "hours": 0,
        "total": 0,
        "per_hour": 0,
        **dict.fromkeys(SENTIMENTS, 0),
        "negative_share": None,
        "buckets": [],
    }


def _peak_and_decay(
    phases: list[dict[str, Any]],
) -> tuple[dict[str, Any] | None, float | None]:
    """Return the busiest hour and the hours until volume fell below half of it."""
    timeline = [(phase["phase"], slot) for phase in phases for slot in phase["buckets"]]
    if not timeline or max(slot["count"] for _, slot in timeline) == 0:
        return None, None
    best = max(range(len(timeline)), key=lambda index: (timeline[index][1]["count"], -index))
    phase, slot = timeline[best]
    peak = {"at": slot["start"], "count": slot["count"], "phase": phase}
    peak_at = datetime.fromisoformat(slot["start"])
    for _, later in timeline[best + 1 :]:
        if later["count"] * 2 < slot["count"]:
            hours = (datetime.fromisoformat(later["start"]) - peak_at) / BUCKET
            return peak, round(hours, 2)
    return peak, None
