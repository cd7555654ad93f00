"""War-room lists across incidents: incidents, tasks, statements and review reports."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.connections import check_filters, error, ordered, page, walk
from libs.contracts.enums import (
    Channel,
    CrisisType,
    IncidentStatus,
    StatementStatus,
    TeamRole,
    Tier,
)
from libs.database.engine import transaction
from libs.database.tables import (
    Incident,
    ResponseTask,
    ReviewReport,
    Statement,
)
from tests.builders import Sessions, Tenant

# --- tasks --------------------------------------------------------------------------------


async def test_tasks_across_incidents_make_a_my_overdue_tasks_view(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    async with transaction(sessions) as session:
        milk = await builders.watchlist(session, acme.org.id, "奶粉质量")
        shipping = await builders.watchlist(session, acme.org.id, "物流延误")
        live = await builders.incident(session, milk, detected_at=T0)
        ended = await builders.incident(
            session, shipping, detected_at=T0 - timedelta(days=1), status=IncidentStatus.RESOLVED
        )
        await builders.member(session, live, TeamRole.SPOKESPERSON, "李娜")
        await builders.member(session, live, TeamRole.MONITOR, "王强")
        await builders.member(session, ended, TeamRole.SPOKESPERSON, "李娜")
        hours = timedelta(hours=1)
        speaker = TeamRole.SPOKESPERSON
        plan = [
            # incident, kind, role, due, status, breached, completed
            (live, "acknowledge", TeamRole.MONITOR, T0 + hours / 2, "done", None, T0),
            (live, "scope", TeamRole.ANALYST, T0 + 2 * hours, "open", None, None),
            (live, "statement", speaker, T0 + 4 * hours, "overdue", T0 + 4 * hours, None),
            (live, "detail", speaker, now + 48 * hours, "open", None, None),
            (live, "plan", TeamRole.COMMANDER, now + 24 * hours, "open", None, None),
            (ended, "statement", speaker, T0 - 20 * hours, "open", None, None),
            (ended, "acknowledge", TeamRole.MONITOR, T0 - 23 * hours, "done", T0, T0),
        ]
        made: list[ResponseTask] = []
        for position, (opened, kind, role, due, status, breached, completed) in enumerate(plan):
            row = ResponseTask(
                organization_id=acme.org.id,
                incident_id=opened.id,
                kind=kind,
                title=f"任务 {kind}",
                position=position,
                due_at=due,
                status=status,
                role=role.value,
                channel=Channel.WEIBO.value if kind == "statement" else None,
                breached_at=breached,
                completed_at=completed,
                created_at=T0 + timedelta(minutes=position % 3),
            )
            session.add(row)
            made.append(row)
        foreign = await builders.incident(
            session, await builders.watchlist(session, rival.org.id), detected_at=T0
        )
        await builders.task(session, foreign, "statement", "他们的任务", 0, timedelta(hours=1))

    def due_first(test: Callable[[ResponseTask], bool]) -> list[str]:
        return ordered([t for t in made if test(t)], lambda t: t.due_at, descending=False)

    def overdue(t: ResponseTask) -> bool:
        return t.status != "done" and (t.breached_at is not None or t.due_at < now)

    assert await walk(gql, acme, "tasks") == due_first(lambda t: True)
    assert await walk(
        gql, acme, "tasks", first=3, order_by={"field": "CREATED_AT", "direction": "DESC"}
    ) == ordered(made, lambda t: t.created_at, descending=True)
    mine = await walk(
        gql, acme, "tasks", filter={"overdue": True, "person": "李娜", "incidentOpen": True}
    )
    assert mine == [str(made[2].id)]
    checks: list[tuple[dict[str, Any], Callable[[ResponseTask], bool]]] = [
        ({"overdue": True}, overdue),
        ({"overdue": False}, lambda t: not overdue(t)),
        ({"person": "李娜"}, lambda t: t.role == "spokesperson"),
        ({"person": "王强"}, lambda t: t.incident_id == live.id and t.role == "monitor"),
        ({"role": "COMMANDER"}, lambda t: t.role == "commander"),
        ({"incidentId": gid("Incident", ended.id)}, lambda t: t.incident_id == ended.id),
        ({"incidentOpen": False}, lambda t: t.incident_id == ended.id),
        ({"status": "OPEN"}, lambda t: t.status == "open"),
        ({"channel": "WEIBO", "overdue": True}, lambda t: t.channel == "weibo" and overdue(t)),
        ({"kind": "acknowledge"}, lambda t: t.kind == "acknowledge"),
        ({"dueBefore": T0.isoformat()}, lambda t: t.due_at < T0),
        (
            {"dueAfter": T0.isoformat(), "dueBefore": now.isoformat()},
            lambda t: T0 <= t.due_at < now,
        ),
    ]
    await check_filters(gql, acme, "tasks", checks, due_first)
    wrong = await page(gql, acme, "tasks", filter={"incidentId": gid("Watchlist", milk.id)})
    assert error(wrong) == "`filter.incidentId` must be an Incident id."


# --- statements and review reports ----------------------------------------------------------


async def test_statements_and_review_reports_filter_and_sort_across_incidents(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id, "奶粉质量")
        first = await builders.incident(
            session, watched, detected_at=T0, status=IncidentStatus.RESOLVED
        )
        second = await builders.incident(
            session, await builders.watchlist(session, acme.org.id, "物流"), detected_at=T0
        )
        said: list[Statement] = []
        plan = [
            (first, Channel.WEIBO, StatementStatus.PUBLISHED, []),
            (first, Channel.WECHAT, StatementStatus.IN_REVIEW, [{"kind": "missing_fact"}]),
            (second, Channel.WEIBO, StatementStatus.DRAFT, [{"kind": "conflict"}]),
            (second, Channel.DOUYIN, StatementStatus.DRAFT, []),
            (second, Channel.WEBSITE, StatementStatus.APPROVED, []),
        ]
        for i, (opened, channel, status, flags) in enumerate(plan):
            said.append(
                await builders.statement(
                    session,
                    opened,
                    channel,
                    status=status,
                    flags=flags,
                    created_at=T0 + timedelta(minutes=i // 2),
                    updated_at=T0 + timedelta(hours=5 - i),
                )
            )
        reports: list[ReviewReport] = []
        for i, opened in enumerate((first, second)):
            report = await builders.review(session, opened)
            report.created_at = T0 + timedelta(days=i)
            report.updated_at = T0 + timedelta(days=5 - i)
            if i == 0:
                report.status, report.completed_at = "complete", T0 + timedelta(days=2)
            reports.append(report)
        other = await builders.incident(
            session, await builders.watchlist(session, rival.org.id), detected_at=T0
        )
        await builders.statement(session, other)
        await builders.review(session, other)

    def newest(test: Callable[[Statement], bool]) -> list[str]:
        return ordered([s for s in said if test(s)], lambda s: s.created_at, descending=True)

    assert await walk(gql, acme, "statements") == newest(lambda s: True)
    assert await walk(gql, acme, "statements", order_by={"field": "UPDATED_AT"}) == ordered(
        said, lambda s: s.updated_at, descending=True
    )
    checks: list[tuple[dict[str, Any], Callable[[Statement], bool]]] = [
        ({"channel": "WEIBO"}, lambda s: s.channel == "weibo"),
        ({"status": "DRAFT"}, lambda s: s.status == "draft"),
        ({"incidentId": gid("Incident", first.id)}, lambda s: s.incident_id == first.id),
        ({"flagged": True}, lambda s: bool(s.flags)),
        ({"flagged": False, "channel": "WEIBO"}, lambda s: not s.flags and s.channel == "weibo"),
    ]
    await check_filters(gql, acme, "statements", checks, newest)

    done, draft = (str(r.id) for r in reports)
    assert await walk(gql, acme, "reviewReports", first=1) == [draft, done]
    assert await walk(gql, acme, "reviewReports", order_by={"field": "UPDATED_AT"}) == [
        done,
        draft,
    ]
    assert await walk(gql, acme, "reviewReports", filter={"status": "complete"}) == [done]
    assert await walk(gql, acme, "reviewReports", filter={"completed": False}) == [draft]
    assert await walk(
        gql, acme, "reviewReports", filter={"incidentId": gid("Incident", second.id)}
    ) == [draft]
    refused = await page(gql, acme, "reviewReports", filter={"status": "finished"})
    assert error(refused).startswith("`filter.status` must be one of draft, complete")


async def test_incidents_filter_by_openness_acknowledgement_and_window_and_sort_by_tier_and_status(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    plan = [
        (IncidentStatus.DETECTED, Tier.YELLOW, None),
        (IncidentStatus.RESOLVED, Tier.RED, T0),
        (IncidentStatus.RESPONDING, Tier.ORANGE, T0),
        (IncidentStatus.FALSE_ALARM, Tier.RED, None),
        (IncidentStatus.ACKNOWLEDGED, Tier.ORANGE, T0),
    ]
    async with transaction(sessions) as session:
        made: list[Incident] = []
        for i, (status, tier, acknowledged) in enumerate(plan):
            watched = await builders.watchlist(session, acme.org.id, f"清单{i}")
            row = await builders.incident(
                session, watched, detected_at=T0 + timedelta(hours=i), status=status, tier=tier
            )
            row.acknowledged_at = acknowledged
            row.crisis_type = CrisisType.DATA_LEAK.value if i == 2 else None
            made.append(row)
        await builders.incident(
            session, await builders.watchlist(session, rival.org.id), detected_at=T0, tier=Tier.RED
        )
    tier_rank = {"blue": 1, "yellow": 2, "orange": 3, "red": 4}
    lifecycle = [status.value for status in IncidentStatus]

    assert await walk(gql, acme, "incidents", order_by={"field": "TIER"}) == ordered(
        made, lambda i: tier_rank[i.tier], descending=True
    )
    assert await walk(
        gql, acme, "incidents", order_by={"field": "STATUS", "direction": "ASC"}
    ) == ordered(made, lambda i: lifecycle.index(i.status), descending=False)
    open_ones = {"detected", "acknowledged", "assessing", "responding", "recovering"}
    checks: list[tuple[dict[str, Any], Callable[[Incident], bool]]] = [
        ({"open": True}, lambda i: i.status in open_ones),
        ({"open": False}, lambda i: i.status not in open_ones),
        ({"acknowledged": False}, lambda i: i.acknowledged_at is None),
        (
            {"acknowledged": True, "tier": "ORANGE"},
            lambda i: i.acknowledged_at is not None and i.tier == "orange",
        ),
        ({"watchlistId": gid("Watchlist", made[3].watchlist_id)}, lambda i: i is made[3]),
        ({"crisisType": "DATA_LEAK"}, lambda i: i is made[2]),
        (
            {
                "detectedSince": (T0 + timedelta(hours=1)).isoformat(),
                "detectedUntil": (T0 + timedelta(hours=3)).isoformat(),
            },
            lambda i: T0 + timedelta(hours=1) <= i.detected_at < T0 + timedelta(hours=3),
        ),
    ]
    await check_filters(
        gql,
        acme,
        "incidents",
        checks,
        lambda test: ordered(
            [i for i in made if test(i)], lambda i: i.detected_at, descending=True
        ),
    )
