"""The deadline-risk pass: warn once when a crisis would peak before its first statement.

Every `FORECAST_CHECK_SECONDS` the pass forecasts each open incident whose first statement
is still ahead (`libs.forecast`: the watchlist's pace, damped). When the projected peak
comes before the statement's deadline, the company would speak after the worst of it: the
pass writes a timeline entry and `forecast.deadline_at_risk` for chat and webhooks.

Once per incident and deadline: the event's id is derived from the incident and the task,
and the pass emits nothing when a row with that id exists, so repeated passes, a second
runner and a redelivered pass all stay silent after the first warning. The incident's row
lock serializes two runners weighing the same incident.
"""

import uuid
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import EventType
from libs.contracts.events import ForecastDeadlineAtRisk
from libs.contracts.outcome import Outcome
from libs.database.tables import ResponseTask, TimelineEvent
from libs.forecast import Forecast, forecast, summary
from libs.forecast.inputs import trajectory
from libs.forecast.model import HORIZONS
from libs.forecast.words import TASK_NAMES, duration
from libs.messaging.sweep import SweepSpec
from services.incidents import events, timeline
from services.incidents.forecasts import repository

# The playbook's task kind for the first public statement (4 h after detection by default).
FIRST_STATEMENT = "first_statement"
TIMELINE_KIND = "forecast_deadline_at_risk"


def _minutes(span: timedelta | None) -> int | None:
    return None if span is None else int(span // timedelta(minutes=1))


def _body(result: Forecast, task: ResponseTask) -> ForecastDeadlineAtRisk:
    peak_at = result.peak_at
    assert peak_at is not None
    in_one, in_four = (result.projection(after) for after in HORIZONS)
    return ForecastDeadlineAtRisk(
        task_id=task.id,
        kind=task.kind,
        title=task.title,
        due_at=task.due_at,
        peak_at=peak_at,
        minutes_before_deadline=int((task.due_at - peak_at) // timedelta(minutes=1)),
        growth_per_hour=result.growth_per_hour,
        tier_in_1h=in_one.tier.value if in_one.tier else None,
        tier_in_4h=in_four.tier.value if in_four.tier else None,
        next_tier=result.next_tier.value if result.next_tier else None,
        minutes_to_next_tier=_minutes(result.time_to_next_tier),
        summary=summary(result),
    )


def _message(result: Forecast, task: ResponseTask) -> str:
    """Return the timeline's line, e.g. 预计约1小时20分钟后达到峰值，早于首次声明截止时间（…）。"""
    assert result.time_to_peak is not None
    name = TASK_NAMES.get(task.kind, task.title)
    left = duration(task.due_at - result.now)
    return (
        f"按当前势头预计约{duration(result.time_to_peak)}后达到峰值，"
        f"早于{name}截止时间（{left}后到期）：{summary(result)}"
    )


async def weigh(session: AsyncSession, incident_id: uuid.UUID, clock: Clock) -> Outcome:
    """Forecast one incident; warn once if its peak comes before its first statement is due."""
    incident = await repository.incident_for_update(session, incident_id)
    if incident is None:
        return Outcome()
    now = clock.now()
    task = await repository.open_task(session, incident.id, FIRST_STATEMENT)
    if task is None or task.due_at <= now:
        return Outcome()
    key = f"{incident.id}:{task.id}"
    if await repository.event_recorded(
        session, events.event_id(EventType.FORECAST_DEADLINE_AT_RISK, key)
    ):
        return Outcome()
    read = await trajectory(session, incident, now)
    if read is None:
        return Outcome()
    result = forecast(read)
    if result.peak_at is None or result.peak_at >= task.due_at:
        return Outcome()
    event = TimelineEvent(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        kind=TIMELINE_KIND,
        message=_message(result, task),
        actor=timeline.SYSTEM_ACTOR,
        data={
            "task": task.kind,
            "task_id": str(task.id),
            "due_at": task.due_at.isoformat(),
            "peak_at": result.peak_at.isoformat(),
            "growth_per_hour": result.growth_per_hour,
        },
        occurred_at=now,
    )
    session.add(event)
    timeline.stage_notice(session, event)
    message = await events.record(
        session, _body(result, task), incident.organization_id, incident.id, key=key, at=now
    )
    await session.flush()
    return Outcome.emit(message)


async def _due(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    return await repository.waiting_on(session, FIRST_STATEMENT, at)


DEADLINE_RISKS = SweepSpec("incidents-deadline-risks", _due, weigh)
"""The pass the incidents worker runs every `FORECAST_CHECK_SECONDS`, once per cluster."""
