"""Risk signals through a real incidents worker: open, join, raise, ignore, deduplicate."""

import asyncio
import uuid
from datetime import timedelta, timezone

from arq.connections import ArqRedis
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import FixedClock
from libs.contracts.enums import IncidentStatus, TaskStatus, Tier
from libs.database.engine import transaction
from libs.database.tables import Incident, Watchlist
from services.incidents import repository
from services.incidents.signals.service import REOPEN_WINDOW, apply_signal
from services.incidents.tests.builders import (
    DETECTED_AT,
    deliver,
    force,
    forget_delivery,
    incidents_of,
    landed,
    make_signal,
    make_watchlist,
    tasks_of,
    timeline_of,
)
from tests.fixtures.servers import Servers

# Whether the backend `pid` waits for an advisory lock that `holder` holds.
BLOCKED_ON_ADVISORY_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = :pid AND locktype = 'advisory'"
    " AND NOT granted) AND :holder = ANY(pg_blocking_pids(:pid))"
)


async def _backend_pid(session: AsyncSession) -> int:
    pid: int = (await session.exec(select(func.pg_backend_pid()))).one()
    return pid


async def _until_queued(
    sessions: async_sessionmaker[AsyncSession], pid: int, *, behind: int
) -> None:
    """Return once PostgreSQL reports backend `pid` waiting on an advisory lock `behind` holds."""
    query = BLOCKED_ON_ADVISORY_LOCK.bindparams(pid=pid, holder=behind)
    async with sessions() as observer:
        connection = await observer.connection()
        for _ in range(1000):
            if await connection.scalar(query):
                return
            await asyncio.sleep(0.01)
    raise AssertionError(f"backend {pid} never waited for the lock held by {behind}")


async def _only_incident(
    sessions: async_sessionmaker[AsyncSession], watchlist: Watchlist
) -> Incident:
    incidents = await incidents_of(sessions, watchlist)
    assert len(incidents) == 1
    return incidents[0]


async def test_yellow_signal_opens_an_incident_with_the_default_playbook(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    # Sent in Beijing time: deadlines must not depend on the offset the sender used.
    detected_at = DETECTED_AT.astimezone(timezone(timedelta(hours=8)))
    signal = await make_signal(
        sessions,
        watchlist,
        Tier.YELLOW,
        score=0.42,
        reasons=["负面占比 65%", "声量是基线的 4 倍"],
        detected_at=detected_at,
    )

    worker = await deliver(redis, servers, signal)

    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    incident = await _only_incident(sessions, watchlist)
    assert incident.title == "「奶粉」轻度舆情危机"
    assert incident.tier == Tier.YELLOW
    assert incident.status == IncidentStatus.DETECTED
    assert incident.detected_at == DETECTED_AT
    assert incident.last_signal_id == signal.signal_id
    assert incident.organization_id == watchlist.organization_id

    tasks = await tasks_of(sessions, incident)
    rows = [(t.position, t.kind, t.title, t.due_at - DETECTED_AT, t.role, t.channel) for t in tasks]
    assert rows == [
        (0, "acknowledge", "确认事件并启动监测", timedelta(minutes=30), "monitor", None),
        (1, "confirm_scope", "确认影响范围", timedelta(hours=2), "analyst", None),
        (2, "first_statement", "发布首次公开声明", timedelta(hours=4), "spokesperson", "weibo"),
        (3, "detailed_reply", "发布详细回应", timedelta(hours=24), "spokesperson", "wechat"),
    ]
    assert all(t.status == TaskStatus.OPEN and t.completed_at is None for t in tasks)

    [opened] = await timeline_of(sessions, incident)
    assert opened.kind == "opened"
    assert opened.actor == "system"
    assert opened.data["reasons"] == ["负面占比 65%", "声量是基线的 4 倍"]
    assert opened.data["score"] == 0.42
    assert opened.data["signal_id"] == str(signal.signal_id)
    assert "轻度" in opened.message and "负面占比 65%" in opened.message


async def test_second_signal_of_the_same_tier_joins_the_open_incident(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    first = await make_signal(sessions, watchlist, Tier.ORANGE)
    second = await make_signal(
        sessions,
        watchlist,
        Tier.ORANGE,
        reasons=["投诉集中爆发"],
        detected_at=DETECTED_AT + timedelta(minutes=10),
    )

    await deliver(redis, servers, first)
    await deliver(redis, servers, second)

    incident = await _only_incident(sessions, watchlist)
    assert incident.tier == Tier.ORANGE
    assert incident.detected_at == DETECTED_AT
    assert incident.last_signal_id == second.signal_id
    assert len(await tasks_of(sessions, incident)) == 6
    events = await timeline_of(sessions, incident)
    assert [e.kind for e in events] == ["opened", "signal"]
    assert events[1].data["reasons"] == ["投诉集中爆发"]
    assert events[1].actor == "system"


async def test_lower_tier_signal_joins_without_lowering_the_tier(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    red = await make_signal(sessions, watchlist, Tier.RED)
    yellow = await make_signal(sessions, watchlist, Tier.YELLOW)
    blue = await make_signal(sessions, watchlist, Tier.BLUE)

    await deliver(redis, servers, red)
    await deliver(redis, servers, yellow)
    await deliver(redis, servers, blue)

    incident = await _only_incident(sessions, watchlist)
    assert incident.tier == Tier.RED
    assert incident.last_signal_id == blue.signal_id
    assert [e.kind for e in await timeline_of(sessions, incident)] == ["opened", "signal", "signal"]


async def test_higher_tier_signal_raises_the_incident_tier(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    yellow = await make_signal(sessions, watchlist, Tier.YELLOW)
    red = await make_signal(
        sessions, watchlist, Tier.RED, score=0.91, reasons=["媒体大号转发", "涉及数据泄露"]
    )

    await deliver(redis, servers, yellow)
    await deliver(redis, servers, red)

    incident = await _only_incident(sessions, watchlist)
    assert incident.tier == Tier.RED
    assert incident.title == "「奶粉」严重舆情危机"
    assert incident.last_signal_id == red.signal_id
    kinds = [t.kind for t in await tasks_of(sessions, incident)]
    assert kinds[:4] == ["acknowledge", "confirm_scope", "first_statement", "detailed_reply"]
    assert sorted(kinds[4:]) == [
        "collect_feedback",
        "douyin_video",
        "full_plan",
        "legal_review",
        "website_notice",
    ]
    opened, raised = await timeline_of(sessions, incident)
    assert opened.kind == "opened"
    assert raised.kind == "tier_changed"
    assert raised.actor == "system"
    assert raised.data["from"] == "yellow" and raised.data["to"] == "red"
    assert raised.data["reasons"] == ["媒体大号转发", "涉及数据泄露"]
    assert raised.data["score"] == 0.91
    assert raised.data["added_tasks"] == kinds[4:]
    assert "由轻度升级为严重" in raised.message and "新增5项处置任务" in raised.message


async def test_edited_title_is_kept_when_the_tier_rises(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    await deliver(redis, servers, await make_signal(sessions, watchlist, Tier.YELLOW))
    await force(sessions, await _only_incident(sessions, watchlist), title="奶粉批次质量投诉")

    await deliver(redis, servers, await make_signal(sessions, watchlist, Tier.ORANGE))

    incident = await _only_incident(sessions, watchlist)
    assert (incident.title, incident.tier) == ("奶粉批次质量投诉", Tier.ORANGE)


async def test_blue_signal_opens_no_incident(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    blue = await make_signal(sessions, watchlist, Tier.BLUE)

    worker = await deliver(redis, servers, blue)

    assert worker.jobs_complete == 1 and worker.jobs_failed == 0
    assert await incidents_of(sessions, watchlist) == []


async def test_redelivered_signal_changes_nothing(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    yellow = await make_signal(sessions, watchlist, Tier.YELLOW)
    orange = await make_signal(sessions, watchlist, Tier.ORANGE)
    await deliver(redis, servers, yellow)
    await deliver(redis, servers, orange)

    await forget_delivery(redis, yellow)
    await forget_delivery(redis, orange)
    worker = await deliver(redis, servers, yellow, orange)

    assert worker.jobs_complete == 2 and worker.jobs_failed == 0
    incident = await _only_incident(sessions, watchlist)
    assert incident.tier == Tier.ORANGE
    assert len(await tasks_of(sessions, incident)) == 6
    assert [e.kind for e in await timeline_of(sessions, incident)] == ["opened", "tier_changed"]


async def test_signal_long_after_the_incident_was_resolved_opens_a_new_one(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    await deliver(redis, servers, await make_signal(sessions, watchlist, Tier.YELLOW))
    await force(
        sessions,
        await _only_incident(sessions, watchlist),
        status=IncidentStatus.RESOLVED.value,
        resolved_at=DETECTED_AT + timedelta(hours=1),
    )

    later = DETECTED_AT + timedelta(hours=1) + REOPEN_WINDOW + timedelta(seconds=1)
    await deliver(
        redis, servers, await make_signal(sessions, watchlist, Tier.YELLOW, detected_at=later)
    )

    statuses = sorted(i.status for i in await incidents_of(sessions, watchlist))
    assert statuses == ["detected", "resolved"]


async def test_concurrent_signals_for_one_watchlist_open_one_incident(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    signals = [await make_signal(sessions, watchlist, tier) for tier in (Tier.YELLOW, Tier.ORANGE)]

    worker = await deliver(redis, servers, *signals)

    assert worker.max_jobs >= 2
    assert worker.jobs_complete == 2 and worker.jobs_failed == 0
    incident = await _only_incident(sessions, watchlist)
    assert incident.tier == Tier.ORANGE
    assert len(await tasks_of(sessions, incident)) == 6
    opened, second = await timeline_of(sessions, incident)
    # Either may win the lock: a yellow opening is raised by orange, an orange one joined.
    assert opened.kind == "opened"
    assert second.kind == {"yellow": "tier_changed", "orange": "signal"}[opened.data["tier"]]


async def test_second_transaction_waits_for_the_watchlist_lock_and_joins(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await make_watchlist(sessions)
    first = await make_signal(sessions, watchlist, Tier.YELLOW)
    second = await make_signal(sessions, watchlist, Tier.YELLOW)
    clock = FixedClock(DETECTED_AT)
    racing_pid: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def race() -> None:
        async with transaction(sessions) as session:
            racing_pid.set_result(await _backend_pid(session))
            await apply_signal(session, second, clock=clock)

    async with transaction(sessions) as session:
        holder = await _backend_pid(session)
        await apply_signal(session, first, clock=clock)
        racing = asyncio.create_task(race())
        pid = await asyncio.wait_for(racing_pid, timeout=10)
        await _until_queued(sessions, pid, behind=holder)
        assert not racing.done()
    await asyncio.wait_for(racing, timeout=10)

    incident = await _only_incident(sessions, watchlist)
    assert (await landed(sessions, second)) is not None
    assert incident.last_signal_id == second.signal_id
    assert [e.kind for e in await timeline_of(sessions, incident)] == ["opened", "signal"]


def test_lock_keys_are_stable_signed_64_bit_numbers() -> None:
    watchlist_id = uuid.UUID("6f1c2a8e-3b4d-4c5e-9f60-718293a4b5c6")
    # Pinned: a changed derivation would let old and new workers lock different keys.
    assert repository.watchlist_lock_key(watchlist_id) == 1759841489036422764
    assert repository.story_lock_key(watchlist_id) == -6559041402860157495
    assert repository.watchlist_lock_key(uuid.uuid4()) != 1759841489036422764
