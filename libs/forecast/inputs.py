"""Read an incident's trajectory: the windows of its watchlist, its anchor, its deadlines.

Shared by the incidents service (the deadline-risk pass, the summary on every event) and
the gateway (`Incident.forecast`), so the two never forecast from different figures. It
reads the minute rollups the analysis service keeps (`mention_rollup`, 60-second grain),
the watchlist's latest tier decision (`risk_signal`) and the incident's open tasks; it
writes nothing.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import TaskStatus, Tier
from libs.contracts.vocabulary import CLOSED_STATUSES, values
from libs.database.tables import Incident, MentionRollup, ResponseTask, RiskSignal
from libs.forecast.model import LOOKBACK_WINDOWS, WINDOW, Anchor, Deadline, Trajectory

MINUTE = 60
_COUNT = col(MentionRollup.positive) + col(MentionRollup.neutral) + col(MentionRollup.negative)


def windows(
    minutes: Sequence[tuple[datetime, int, int]], now: datetime
) -> tuple[list[int], list[int]]:
    """Fold minute buckets into `LOOKBACK_WINDOWS` windows ending at `now`, oldest first."""
    counts = [0] * LOOKBACK_WINDOWS
    reaches = [0] * LOOKBACK_WINDOWS
    for bucket_at, count, reach in minutes:
        back = (now - bucket_at) // WINDOW
        if bucket_at <= now and back < LOOKBACK_WINDOWS:
            counts[LOOKBACK_WINDOWS - 1 - back] += count
            reaches[LOOKBACK_WINDOWS - 1 - back] += reach
    return counts, reaches


async def _minutes(
    session: AsyncSession, incident: Incident, since: datetime, now: datetime
) -> list[tuple[datetime, int, int]]:
    """Return the watchlist's (minute, mentions, reach) from `since` to `now`, every source."""
    found = await session.exec(
        select(
            col(MentionRollup.bucket_at),
            func.sum(_COUNT),
            func.sum(col(MentionRollup.reach)),
        )
        .where(
            col(MentionRollup.organization_id) == incident.organization_id,
            col(MentionRollup.watchlist_id) == incident.watchlist_id,
            col(MentionRollup.grain_seconds) == MINUTE,
            col(MentionRollup.bucket_at) >= since,
            col(MentionRollup.bucket_at) <= now,
        )
        .group_by(col(MentionRollup.bucket_at))
    )
    return [(at, int(count or 0), int(reach or 0)) for at, count, reach in found.all()]


async def _reach_since(session: AsyncSession, incident: Incident, now: datetime) -> int:
    """Return the audience the watchlist's mentions reached from the detection's minute on."""
    found = await session.exec(
        select(func.coalesce(func.sum(col(MentionRollup.reach)), 0)).where(
            col(MentionRollup.organization_id) == incident.organization_id,
            col(MentionRollup.watchlist_id) == incident.watchlist_id,
            col(MentionRollup.grain_seconds) == MINUTE,
            col(MentionRollup.bucket_at) > incident.detected_at - timedelta(minutes=1),
            col(MentionRollup.bucket_at) <= now,
        )
    )
    return int(found.one())


async def _anchor(session: AsyncSession, incident: Incident, now: datetime) -> Anchor | None:
    """Return the watchlist's latest tier decision up to `now` as the score's anchor."""
    found = await session.exec(
        select(RiskSignal)
        .where(
            col(RiskSignal.organization_id) == incident.organization_id,
            col(RiskSignal.watchlist_id) == incident.watchlist_id,
            col(RiskSignal.created_at) <= now,
        )
        .order_by(col(RiskSignal.created_at).desc())
        .limit(1)
    )
    signal = found.first()
    if signal is None:
        return None
    return Anchor(signal.score, int(signal.components.get("window_count") or 0))


async def _deadlines(session: AsyncSession, incident_id: uuid.UUID) -> list[Deadline]:
    """Return the incident's open tasks' deadlines."""
    found = await session.exec(
        select(ResponseTask).where(
            col(ResponseTask.incident_id) == incident_id,
            col(ResponseTask.status) == TaskStatus.OPEN.value,
        )
    )
    return [Deadline(task.id, task.kind, task.title, task.due_at) for task in found.all()]


async def trajectory(session: AsyncSession, incident: Incident, now: datetime) -> Trajectory | None:
    """Return what the incident's forecast is made from at `now`; None once it is closed."""
    if incident.status in values(CLOSED_STATUSES):
        return None
    minutes = await _minutes(session, incident, now - LOOKBACK_WINDOWS * WINDOW, now)
    counts, reaches = windows(minutes, now)
    return Trajectory(
        now=now,
        tier=Tier(incident.tier),
        counts=counts,
        reaches=reaches,
        reach_so_far=await _reach_since(session, incident, now),
        anchor=await _anchor(session, incident, now),
        deadlines=await _deadlines(session, incident.id),
    )
