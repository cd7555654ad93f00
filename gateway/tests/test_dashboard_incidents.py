"""The dashboard's incident figures equal what the stored incidents and tasks give when
counted here by hand."""

import math
from collections import Counter
from datetime import UTC, datetime, timedelta

from gateway.tests import builders
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.dashboards import SINCE, UNTIL, dashboard
from libs.contracts.enums import IncidentStatus, TaskStatus, Tier
from libs.database.engine import transaction
from libs.database.tables import Incident, ResponseTask
from tests.builders import Sessions, Tenant


def percentile(values: list[float], fraction: float) -> float:
    """The continuous percentile PostgreSQL's percentile_cont computes."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_incident_metrics_match_the_incidents_and_tasks_stored(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    plan = [
        # tier, status, detected after SINCE, minutes to acknowledge
        (Tier.RED, IncidentStatus.RESPONDING, timedelta(minutes=5), 12),
        (Tier.ORANGE, IncidentStatus.RESOLVED, timedelta(hours=1), 45),
        (Tier.ORANGE, IncidentStatus.ACKNOWLEDGED, timedelta(hours=2), 20),
        (Tier.YELLOW, IncidentStatus.DETECTED, timedelta(hours=3), None),
        (Tier.RED, IncidentStatus.CLOSED, timedelta(hours=4), 95),
        (Tier.RED, IncidentStatus.RESPONDING, -timedelta(hours=3), 5),  # before the window
    ]
    async with transaction(sessions) as session:
        made: list[Incident] = []
        tasks: list[ResponseTask] = []
        for i, (tier, status, after, waited) in enumerate(plan):
            watched = await builders.watchlist(session, acme.org.id, f"清单{i}")
            opened = await builders.incident(
                session, watched, detected_at=SINCE + after, status=status, tier=tier
            )
            if waited is not None:
                opened.acknowledged_at = opened.detected_at + timedelta(minutes=waited)
            made.append(opened)
            # On time, done late, found breached then done, overdue, and not yet due.
            outcomes = [
                ("ack", timedelta(minutes=30), TaskStatus.DONE, timedelta(minutes=10), None),
                ("scope", timedelta(hours=2), TaskStatus.DONE, timedelta(hours=3), None),
                ("stmt", timedelta(hours=4), TaskStatus.DONE, timedelta(hours=4), True),
                ("detail", timedelta(hours=24), TaskStatus.OPEN, None, None),
                ("plan", now - opened.detected_at + timedelta(days=3), TaskStatus.OPEN, None, None),
            ][: 2 + i % 4]
            for position, (kind, due_in, status_, done_in, breached) in enumerate(outcomes):
                task = await builders.task(session, opened, kind, kind, position, due_in, status_)
                if done_in is not None:
                    task.completed_at = opened.detected_at + done_in
                if breached:
                    task.breached_at = task.due_at
                tasks.append(task)
        foreign = await builders.incident(
            session,
            await builders.watchlist(session, rival.org.id),
            detected_at=SINCE,
            tier=Tier.RED,
        )
        foreign.acknowledged_at = SINCE + timedelta(hours=9)
        await builders.task(session, foreign, "ack", "ack", 0, timedelta(minutes=1))

    in_window = [o for o in made if SINCE <= o.detected_at < UNTIL]
    found = await dashboard(
        gql,
        acme,
        """incidents {
          detected byTier { tier count } byStatus { status count } acknowledged
          timeToAcknowledgeMedianSeconds timeToAcknowledgeP90Seconds
          deadlinesMet deadlinesMissed tasksDoneLate tasksOverdue tasksPending
          deadlineMetShare overdueOpenTasks openIncidents
        }""",
    )
    metrics = found["incidents"]
    assert metrics["detected"] == len(in_window) == 5
    tiers = Counter(o.tier for o in in_window)
    assert metrics["byTier"] == [{"tier": tier.name, "count": tiers[tier.value]} for tier in Tier]
    statuses = Counter(o.status for o in in_window)
    assert metrics["byStatus"] == [
        {"status": status.name, "count": statuses[status.value]} for status in IncidentStatus
    ]
    waits = [
        (o.acknowledged_at - o.detected_at).total_seconds()
        for o in in_window
        if o.acknowledged_at is not None
    ]
    assert metrics["acknowledged"] == len(waits) == 4
    assert math.isclose(metrics["timeToAcknowledgeMedianSeconds"], percentile(waits, 0.5))
    assert math.isclose(metrics["timeToAcknowledgeP90Seconds"], percentile(waits, 0.9))

    window_ids = {o.id for o in in_window}
    outcome: Counter[str] = Counter()
    for task in tasks:
        if task.incident_id not in window_ids:
            continue
        if task.status == TaskStatus.DONE.value:
            late = task.breached_at is not None or (
                task.completed_at is not None and task.completed_at > task.due_at
            )
            outcome["late" if late else "on_time"] += 1
        elif task.breached_at is not None or task.due_at < now:
            outcome["overdue"] += 1
        else:
            outcome["pending"] += 1
    assert metrics["deadlinesMet"] == outcome["on_time"]
    assert metrics["tasksDoneLate"] == outcome["late"]
    assert metrics["tasksOverdue"] == outcome["overdue"]
    assert metrics["tasksPending"] == outcome["pending"]
    missed = outcome["late"] + outcome["overdue"]
    assert metrics["deadlinesMissed"] == missed
    assert math.isclose(
        metrics["deadlineMetShare"], outcome["on_time"] / (outcome["on_time"] + missed)
    )
    assert min(outcome.values()) > 0, "every outcome is exercised"

    open_statuses = {s.value for s in IncidentStatus if s.is_open}
    open_ids = {o.id for o in made if o.status in open_statuses}
    overdue_now = [
        t
        for t in tasks
        if t.incident_id in open_ids
        and t.status != TaskStatus.DONE.value
        and (t.breached_at is not None or t.due_at < now)
    ]
    assert metrics["overdueOpenTasks"] == len(overdue_now)
    assert metrics["openIncidents"] == len(open_ids)

    one = made[0]
    scoped = await dashboard(
        gql,
        acme,
        "incidents { detected acknowledged timeToAcknowledgeMedianSeconds openIncidents }",
        watchlistId=gid("Watchlist", one.watchlist_id),
    )
    assert scoped["incidents"] == {
        "detected": 1,
        "acknowledged": 1,
        "timeToAcknowledgeMedianSeconds": 12 * 60.0,
        "openIncidents": 1,
    }
