"""The daily risk check on real PostgreSQL and Redis: when it runs, what it finds, and once.

The scheduler is driven by a clock moved by hand for the hour and the day; the real
incidents worker (two replicas at once) shows one runner per cluster and one check per
organization and day.
"""

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from arq.connections import ArqRedis
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import EventType, IncidentStatus, Sentiment, Tier
from libs.contracts.events import RiskCheckCompleted
from libs.database.engine import transaction
from libs.database.tables import (
    Drill,
    IntegrationEvent,
    Mention,
    MentionAnalysis,
    OutboxMessage,
    RiskCheck,
    RiskSignal,
    Story,
)
from libs.messaging.sweep import Sweep
from services.incidents.config import IncidentsSettings
from services.incidents.risk_check import service
from services.incidents.risk_check.scheduler import risk_check_sweep
from services.incidents.risk_check.service import Schedule
from services.incidents.tests.builders import queued_events
from services.incidents.worker import create_worker
from tests.builders import Sessions, incident, organization, read_all, response_task, watchlist
from tests.fixtures.servers import Servers
from tests.fixtures.workers import running_workers
from tests.risk_day import RiskDay, findings, seed_risk_day

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 09:30 in Shanghai on 2025-03-02.
NOW = datetime(2025, 3, 2, 1, 30, tzinfo=UTC)


def _scheduler(sessions: Sessions, redis: ArqRedis, clock: FixedClock) -> Sweep:
    check = risk_check_sweep(Schedule(9, SHANGHAI))
    return Sweep(check, sessions, redis, clock, interval=60, producer="incidents")


async def _seeded(sessions: Sessions) -> dict[uuid.UUID, RiskDay]:
    seeded = {}
    async with transaction(sessions) as session:
        for _ in range(2):
            org = await organization(session)
            seeded[org.id] = await seed_risk_day(session, org, NOW)
    return seeded


async def _checks(sessions: Sessions) -> list[RiskCheck]:
    query = select(RiskCheck).order_by(col(RiskCheck.organization_id), col(RiskCheck.day))
    return await read_all(sessions, query)


async def _events(sessions: Sessions) -> list[IntegrationEvent]:
    query = select(IntegrationEvent).where(
        col(IntegrationEvent.type) == EventType.RISK_CHECK_COMPLETED.value
    )
    return await read_all(sessions, query)


def test_the_check_is_due_from_the_hour_of_the_local_day() -> None:
    schedule = Schedule(9, SHANGHAI)
    # 08:59 and 09:00 in Shanghai are 00:59 and 01:00 UTC.
    assert schedule.due_day(datetime(2025, 3, 2, 0, 59, tzinfo=UTC)) is None
    assert schedule.due_day(datetime(2025, 3, 2, 1, 0, tzinfo=UTC)) == date(2025, 3, 2)
    # 23:59 in Shanghai is still that day; 16:00 UTC is the next day's midnight, before 09:00.
    assert schedule.due_day(datetime(2025, 3, 2, 15, 59, tzinfo=UTC)) == date(2025, 3, 2)
    assert schedule.due_day(datetime(2025, 3, 2, 16, 0, tzinfo=UTC)) is None


def test_the_hour_and_time_zone_are_settings_with_documented_defaults() -> None:
    own = IncidentsSettings(database_url="postgresql+asyncpg://x/y", redis_url="redis://x")
    assert (own.risk_check_hour, own.risk_check_time_zone) == (9, "Asia/Shanghai")
    with pytest.raises(ValueError, match="RISK_CHECK_TIME_ZONE"):
        IncidentsSettings(risk_check_time_zone="Mars/Olympus")
    with pytest.raises(ValueError, match="risk_check_hour"):
        IncidentsSettings(risk_check_hour=24)


async def test_a_check_reports_each_organizations_own_rows(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    seeded = await _seeded(sessions)

    assert await _scheduler(sessions, redis, FixedClock(NOW)).run_once() == 2

    checks = await _checks(sessions)
    assert {check.organization_id for check in checks} == set(seeded)
    for check in checks:
        assert check.day == date(2025, 3, 2)
        assert check.time_zone == "Asia/Shanghai"
        assert check.checked_at == NOW
        report = RiskCheckCompleted.model_validate(check.report)
        assert report.check_id == check.id
        assert report.since == NOW - timedelta(hours=24)
        assert report.spikes[0].last_at == NOW - timedelta(hours=1)
        assert findings(check.report) == seeded[check.organization_id].expected()


async def test_a_check_leaves_drills_out(servers: Servers, sessions: Sessions) -> None:
    """A drill running today, louder than any real crisis, changes nothing in the report."""
    hour = timedelta(hours=1)
    async with transaction(sessions) as session:
        org = await organization(session)
        seeded = await seed_risk_day(session, org, NOW)
        played = await watchlist(session, org, "演练·rumour·1")
        played.current_tier = Tier.RED.value
        drill = Drill(
            organization_id=org.id,
            watchlist_id=played.id,
            scenario="rumour",
            speed=60.0,
            delivery="suppress",
            state="running",
            started_by="test",
        )
        session.add_all([played, drill])
        await session.flush()
        session.add(
            RiskSignal(
                organization_id=org.id,
                watchlist_id=played.id,
                tier=Tier.RED.value,
                score=90.0,
                components={},
                reasons=["演练"],
                window_start=NOW - 2 * hour,
                window_end=NOW - hour,
                created_at=NOW - hour,
            )
        )
        posts = []
        for minutes in range(6):
            text = f"网传致癌{minutes}"
            posts.append(
                Mention(
                    organization_id=org.id,
                    source="weibo",
                    external_id=uuid.uuid4().hex,
                    text=text,
                    content_hash=uuid.uuid4().hex,
                    posted_at=NOW - timedelta(minutes=5 + minutes),
                    drill_id=drill.id,
                )
            )
        session.add_all(posts)
        await session.flush()
        rumour = Story(
            organization_id=org.id,
            title="网传致癌",
            first_mention_id=posts[0].id,
            started_at=NOW - hour,
            last_posted_at=NOW - hour,
            mention_count=6,
        )
        session.add(rumour)
        await session.flush()
        for post in posts:
            session.add(
                MentionAnalysis(
                    mention_id=post.id,
                    organization_id=org.id,
                    posted_at=post.posted_at,
                    sentiment=Sentiment.NEGATIVE.value,
                    sentiment_score=-0.9,
                    tokens=["致癌", "网传"],
                    story_id=rumour.id,
                    watchlist_ids=[played.id],
                )
            )
        drilled = await incident(
            session,
            org,
            played,
            tier=Tier.RED,
            status=IncidentStatus.RESPONDING,
            detected_at=NOW - 3 * hour,
        )
        drilled.drill = True
        session.add(drilled)
        await session.flush()
        await response_task(session, drilled, "statement", NOW - hour, title="发布声明")
        found = await service.report(
            session,
            org.id,
            check_id=uuid.uuid4(),
            day=date(2025, 3, 2),
            time_zone="Asia/Shanghai",
            now=NOW,
        )
    assert findings(found.body()) == seeded.expected()


async def test_the_scheduler_waits_for_the_hour_and_checks_once_a_day(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    seeded = await _seeded(sessions)
    clock = FixedClock(datetime(2025, 3, 2, 0, 59, tzinfo=UTC))
    scheduler = _scheduler(sessions, redis, clock)

    assert await scheduler.run_once() == 0
    assert await _checks(sessions) == []

    clock.current = NOW
    assert await scheduler.run_once() == 2
    clock.current = NOW + timedelta(hours=5)
    assert await scheduler.run_once() == 0, "a second pass the same day checked again"
    assert len(await _checks(sessions)) == 2

    clock.current = NOW + timedelta(days=1)
    assert await scheduler.run_once() == 2
    checks = await _checks(sessions)
    assert [(check.organization_id, check.day) for check in checks] == [
        (org, day) for org in sorted(seeded) for day in (date(2025, 3, 2), date(2025, 3, 3))
    ]

    stored = await _events(sessions)
    assert len(stored) == 4
    assert {(e.organization_id, e.payload["day"]) for e in stored} == {
        (org, day) for org in seeded for day in ("2025-03-02", "2025-03-03")
    }
    assert all(e.incident_id is None and "incident" not in e.payload for e in stored)
    queued = await queued_events(redis)
    assert {str(e.id) for e in stored} <= {job["event_id"] for job in queued.values()}


async def test_two_real_workers_store_one_check_per_organization_and_emit_it_once(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    seeded = await _seeded(sessions)
    async with transaction(sessions) as session:
        quiet = await organization(session)
    # From hour 0 of the day, so a check is due whenever the test runs.
    own = IncidentsSettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        risk_check_enabled=True,
        risk_check_hour=0,
        risk_check_poll_seconds=0.1,
    )
    replicas = [create_worker(own, handle_signals=False) for _ in range(2)]
    async with running_workers(*replicas):
        for _ in range(300):
            if len(await _checks(sessions)) == 3:
                break
            await asyncio.sleep(0.1)
        # Let both replicas run several more passes.
        await asyncio.sleep(1.0)

    checks = await _checks(sessions)
    assert sorted(check.organization_id for check in checks) == sorted([*seeded, quiet.id])
    assert len({check.day for check in checks}) == 1
    stored = await _events(sessions)
    assert sorted(e.organization_id for e in stored) == sorted([*seeded, quiet.id])
    outbox = await read_all(
        sessions,
        select(OutboxMessage).where(col(OutboxMessage.job_name) == "integration.event.v1"),
    )
    # (The deadline watchdog of the same workers also sends the seeded overdue tasks.)
    sent = [o.payload for o in outbox if o.payload["type"] == EventType.RISK_CHECK_COMPLETED]
    assert len(sent) == 3, "each check is sent once"
    by_org = {check.organization_id: check for check in checks}
    assert findings(by_org[quiet.id].report)["open_incident_total"] == 0
    assert by_org[quiet.id].report["watchlists"] == []
