"""The deadline-risk pass: a crisis that would peak before its first statement is told once."""

from datetime import datetime, timedelta

from arq.connections import ArqRedis

from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.database.engine import transaction
from libs.database.tables import Incident, MentionRollup, RiskSignal, Watchlist
from libs.messaging.sweep import Sweep
from services.incidents.forecasts.service import DEADLINE_RISKS, TIMELINE_KIND
from services.incidents.tests.builders import (
    NOW,
    events_of,
    make_watchlist,
    open_incident,
    queued_events,
    tasks_by_kind,
    timeline_of,
)
from tests.builders import Sessions

AT_RISK = "forecast.deadline_at_risk"


async def _talk(sessions: Sessions, watchlist: Watchlist, per_window: list[int]) -> None:
    """Store the watchlist's minute rollups: `per_window` mentions in the windows up to NOW,
    oldest first, each window's in one minute in its middle, and the decision anchoring the
    score (orange, 73 points, just under red, at the last window's volume)."""
    async with transaction(sessions) as session:
        for back, count in enumerate(reversed(per_window)):
            session.add(
                MentionRollup(
                    organization_id=watchlist.organization_id,
                    watchlist_id=watchlist.id,
                    grain_seconds=60,
                    bucket_at=NOW - timedelta(minutes=15 * back + 7),
                    source="weibo",
                    negative=count,
                    reach=count * 1000,
                )
            )
        session.add(
            RiskSignal(
                organization_id=watchlist.organization_id,
                watchlist_id=watchlist.id,
                tier=Tier.ORANGE.value,
                score=73.0,
                components={"window_count": per_window[-1]},
                window_start=NOW - timedelta(minutes=16),
                window_end=NOW - timedelta(minutes=1),
                created_at=NOW - timedelta(minutes=1),
            )
        )


def _pass(sessions: Sessions, redis: ArqRedis, at: datetime) -> Sweep:
    return Sweep(DEADLINE_RISKS, sessions, redis, FixedClock(at), interval=60.0,
                 producer="incidents")  # fmt: skip


async def _doubling_incident(sessions: Sessions) -> tuple[Watchlist, Incident]:
    watchlist = await make_watchlist(sessions, name="禾岚乳业")
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)
    await _talk(sessions, watchlist, [10, 20, 40, 80])
    return watchlist, incident


async def test_a_peak_before_the_first_statement_is_told_once(
    sessions: Sessions, redis: ArqRedis
) -> None:
    _, incident = await _doubling_incident(sessions)
    statement = (await tasks_by_kind(sessions, incident))["first_statement"]

    assert await _pass(sessions, redis, NOW).run_once() == 1
    # Later passes, and a pass repeated at the same moment, say nothing new.
    assert await _pass(sessions, redis, NOW).run_once() == 0
    assert await _pass(sessions, redis, NOW + timedelta(minutes=5)).run_once() == 0

    [told] = [e for e in await events_of(sessions, incident) if e.type == AT_RISK]
    data = told.payload
    peak_at = datetime.fromisoformat(data["peak_at"])
    assert data["task_id"] == str(statement.id)
    assert datetime.fromisoformat(data["due_at"]) == statement.due_at == NOW + timedelta(hours=3)
    assert NOW < peak_at < statement.due_at
    assert data["minutes_before_deadline"] == (statement.due_at - peak_at) // timedelta(minutes=1)
    assert (data["next_tier"], data["tier_in_1h"]) == ("red", "red")
    assert 0 < data["minutes_to_next_tier"] < 60
    # The line names the soonest deadline at risk: confirming the scope, due an hour on.
    assert data["summary"] == (
        f"约{data['minutes_to_next_tier']}分钟后升至红色；影响范围确认1小时后到期"
    )
    assert data["incident"]["forecast"]["summary"] == data["summary"]
    queued = [job for job in (await queued_events(redis)).values() if job["type"] == AT_RISK]
    assert len(queued) == 1
    [entry] = [e for e in await timeline_of(sessions, incident) if e.kind == TIMELINE_KIND]
    assert "早于首次声明截止时间" in entry.message


async def test_a_flat_or_answered_crisis_is_not_told(sessions: Sessions, redis: ArqRedis) -> None:
    flat = await make_watchlist(sessions, name="平稳")
    steady = await open_incident(sessions, flat, Tier.ORANGE)
    await _talk(sessions, flat, [40, 40, 41, 40])
    _, answered = await _doubling_incident(sessions)
    statement = (await tasks_by_kind(sessions, answered))["first_statement"]
    async with transaction(sessions) as session:
        done = await session.get(type(statement), statement.id)
        assert done is not None
        done.status = "done"

    assert await _pass(sessions, redis, NOW).run_once() == 0
    for incident in (steady, answered):
        assert [e for e in await events_of(sessions, incident) if e.type == AT_RISK] == []
