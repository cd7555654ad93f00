"""Quiet periods: own accounts pause while an incident is fought at orange or above."""

import uuid
from datetime import timedelta

from arq.connections import ArqRedis
from sqlmodel import col, select

from libs.clock import FixedClock
from libs.contracts.enums import IncidentStatus, Source, Tier
from libs.contracts.messages import CommandResult
from libs.contracts.response import AddOwnAccount, UpdateOwnAccount
from libs.database.tables import Incident, QuietPeriod
from libs.messaging.sweep import Sweep
from services.incidents.quiet import service as quiet
from services.incidents.tests.builders import (
    DETECTED_AT,
    events_of,
    force,
    make_watchlist,
    open_incident,
    run,
    tasks_of,
    timeline_of,
)
from tests.builders import Sessions, read_all


def _pass(sessions: Sessions, redis: ArqRedis, clock: FixedClock) -> Sweep:
    return Sweep(quiet.QUIET_PERIODS, sessions, redis, clock, interval=60.0, producer="incidents")


async def _account(
    sessions: Sessions, org: uuid.UUID, platform: Source, handle: str, owner: str | None = None
) -> CommandResult:
    command = AddOwnAccount(
        organization_id=org, actor="key-admin", platform=platform, handle=handle, owner=owner
    )
    answer, _ = await run(sessions, quiet.add_account, command, now=DETECTED_AT)
    return answer


async def _periods(sessions: Sessions, incident: Incident) -> list[QuietPeriod]:
    query = select(QuietPeriod).where(QuietPeriod.incident_id == incident.id)
    return await read_all(sessions, query.order_by(col(QuietPeriod.started_at)))


async def test_an_orange_incident_pauses_every_active_account_once_and_recovery_ends_it(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    org = watchlist.organization_id
    weibo = await _account(sessions, org, Source.WEIBO, "@禾岚乳业官方", "品牌部 王敏")
    red_book = await _account(sessions, org, Source.XIAOHONGSHU, "禾岚妈妈社区")
    retired = await _account(sessions, org, Source.DOUYIN, "禾岚旧号")
    off = UpdateOwnAccount(
        organization_id=org,
        actor="key-admin",
        account_id=uuid.UUID(str(retired.data["id"])),
        active=False,
    )
    assert (await run(sessions, quiet.update_account, off, now=DETECTED_AT))[0].ok
    incident = await open_incident(sessions, watchlist, Tier.ORANGE)
    clock = FixedClock(DETECTED_AT + timedelta(seconds=15))
    sweep = _pass(sessions, redis, clock)

    assert await sweep.run_once() == 1
    assert await sweep.run_once() == 0  # settled: a second pass changes nothing

    [period] = await _periods(sessions, incident)
    assert (period.tier, period.ended_at) == ("orange", None)
    pauses = [t for t in await tasks_of(sessions, incident) if t.kind.startswith("pause1:")]
    assert [t.title for t in pauses] == [
        "暂停微博 @禾岚乳业官方的定时发布与营销内容（负责人：品牌部 王敏）",
        "暂停小红书 @禾岚妈妈社区的定时发布与营销内容",
    ]
    assert all(t.due_at == clock.now() + quiet.PAUSE_WITHIN for t in pauses)
    assert all(t.role == "spokesperson" for t in pauses)
    [started] = [e for e in await events_of(sessions, incident) if e.type == "quiet_period.started"]
    told = started.payload["accounts"]
    assert [(a["platform"], a["handle"]) for a in told] == [
        ("weibo", "禾岚乳业官方"),
        ("xiaohongshu", "禾岚妈妈社区"),
    ]
    assert {a["account_id"] for a in told} == {weibo.data["id"], red_book.data["id"]}
    assert [a["pause_task_id"] for a in told] == [str(t.id) for t in pauses]
    assert started.payload["incident"]["id"] == str(incident.id)
    [entry] = await timeline_of(sessions, incident, quiet.STARTED)
    assert "进入静默期" in entry.message and "微博 @禾岚乳业官方" in entry.message

    await force(sessions, incident, status=IncidentStatus.RECOVERING.value)
    later = FixedClock(DETECTED_AT + timedelta(hours=30))
    assert await _pass(sessions, redis, later).run_once() == 1
    [period] = await _periods(sessions, incident)
    assert (period.ended_at, period.ended_status) == (later.now(), "recovering")
    [ended] = [e for e in await events_of(sessions, incident) if e.type == "quiet_period.ended"]
    assert ended.payload["status"] == "recovering"
    assert ended.payload["accounts"] == told
    assert len(await timeline_of(sessions, incident, quiet.ENDED)) == 1


async def test_yellow_is_no_quiet_period_until_raised_and_a_reopened_crisis_starts_another(
    sessions: Sessions, redis: ArqRedis
) -> None:
    watchlist = await make_watchlist(sessions)
    await _account(sessions, watchlist.organization_id, Source.WEIBO, "禾岚乳业官方")
    incident = await open_incident(sessions, watchlist, Tier.YELLOW)
    clock = FixedClock(DETECTED_AT + timedelta(minutes=1))

    assert await _pass(sessions, redis, clock).run_once() == 0
    assert await _periods(sessions, incident) == []

    await force(sessions, incident, tier=Tier.RED.value)
    assert await _pass(sessions, redis, clock).run_once() == 1
    await force(sessions, incident, status=IncidentStatus.RESOLVED.value)
    assert await _pass(sessions, redis, clock).run_once() == 1
    await force(sessions, incident, status=IncidentStatus.RESPONDING.value)
    assert await _pass(sessions, redis, clock).run_once() == 1

    first, second = await _periods(sessions, incident)
    assert first.ended_status == "resolved" and second.ended_at is None
    kinds = sorted(t.kind.split(":")[0] for t in await tasks_of(sessions, incident))
    assert kinds.count("pause1") == 1 and kinds.count("pause2") == 1


async def test_a_registered_account_twice_is_a_conflict_and_a_blank_handle_invalid(
    sessions: Sessions,
) -> None:
    watchlist = await make_watchlist(sessions)
    org = watchlist.organization_id
    assert (await _account(sessions, org, Source.WEIBO, "禾岚乳业官方")).ok
    again = await _account(sessions, org, Source.WEIBO, "@禾岚乳业官方")
    assert again.error is not None
    assert (again.error.code, again.error.field) == ("Conflict", "handle")
    blank = await _account(sessions, org, Source.WEIBO, " @ ")
    assert blank.error is not None and blank.error.field == "handle"
    elsewhere = await make_watchlist(sessions)
    theirs = UpdateOwnAccount(
        organization_id=elsewhere.organization_id,
        actor="key-admin",
        account_id=uuid.UUID(
            str((await _account(sessions, org, Source.DOUYIN, "禾岚")).data["id"])
        ),
        owner="别人",
    )
    answer, _ = await run(sessions, quiet.update_account, theirs, now=DETECTED_AT)
    assert answer.error is not None and answer.error.code == "NotFound"
