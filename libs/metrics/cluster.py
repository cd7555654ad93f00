"""Gauges only the cluster's state can tell: queue depths, backlogs, what waits for a person.

Every worker samples them every `SAMPLE_INTERVAL_SECONDS` (a few cheap counts on small or
indexed sets, and two Redis calls per queue), so a scrape of any worker shows the whole
cluster and none is singled out to hold a lease; alert on `max()` across workers. Reading
is all a pass does, so two replicas sampling at once are harmless.
"""

import logging
import time
from collections.abc import Sequence
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import Tier
from libs.contracts.messages import ANALYSIS_QUEUE, EVENTS_QUEUE, INCIDENTS_QUEUE
from libs.contracts.vocabulary import CLOSED_STATUSES, values
from libs.messaging.periodic import Periodic
from libs.metrics.definitions import (
    DEAD_LETTERS,
    INCIDENTS_OPEN,
    MENTION_FAILURES,
    OUTBOX_BACKLOG,
    QUEUE_DEPTH,
    QUEUE_OLDEST_JOB_AGE,
    TASKS_OVERDUE,
    UNAPPLIED_SIGNALS,
    WEBHOOK_DELIVERIES_PENDING,
)

log = logging.getLogger(__name__)

SAMPLE_INTERVAL_SECONDS = 15.0
# The queues workers consume, by the full names the autoscalers query.
QUEUES = (ANALYSIS_QUEUE, INCIDENTS_QUEUE, EVENTS_QUEUE)
# A crisis signal is owed to incidents once it is this old (the confirmation relay resends
# after 10 s), and looked for within the confirmation window (`libs.messaging.confirmation`).
UNAPPLIED_AFTER = timedelta(seconds=60)
UNAPPLIED_WITHIN = timedelta(days=1)
CRISIS_TIERS = (Tier.YELLOW.value, Tier.ORANGE.value, Tier.RED.value)
# One statement, one round trip. A crisis signal is unapplied while incidents has not
# recorded applying it (`applied_signal`, written in the transaction that applies it, for
# rises and falls alike; a signal a snooze holds back counts as applied: it waits by a
# person's choice, not for delivery). `bench/faults.py` counts the same, without the window.
# Drills' incidents and tasks are practice: the crisis gauges (and the alerts on them) leave
# them out.
_COUNTS = text(
    """
    SELECT
      (SELECT count(*) FROM outbox_message WHERE published_at IS NULL) AS outbox_backlog,
      (SELECT count(*) FROM dead_letter WHERE redriven_at IS NULL) AS dead_letters,
      (SELECT count(*) FROM mention_failure WHERE given_up_at IS NULL) AS retrying,
      (SELECT count(*) FROM mention_failure WHERE given_up_at IS NOT NULL) AS given_up,
      (SELECT count(*) FROM webhook_delivery WHERE status = 'pending') AS pending_deliveries,
      (SELECT count(*) FROM response_task t JOIN incident i ON i.id = t.incident_id
        WHERE i.status <> ALL(:closed) AND t.status <> 'done' AND NOT i.drill
          AND (t.breached_at IS NOT NULL OR t.status = 'overdue' OR t.due_at < now())
      ) AS tasks_overdue,
      (SELECT count(*) FROM risk_signal s
        WHERE s.tier = ANY(:crisis)
          AND s.created_at < now() - CAST(:after AS interval)
          AND s.created_at > now() - CAST(:within AS interval)
          AND NOT EXISTS (SELECT 1 FROM applied_signal a WHERE a.signal_id = s.id)
      ) AS unapplied_signals
    """
)
_OPEN_BY_TIER = text(
    "SELECT tier, count(*) FROM incident WHERE status <> ALL(:closed) AND NOT drill GROUP BY tier"
)


async def sample_database(sessions: async_sessionmaker[AsyncSession]) -> None:
    """Set the gauges read from PostgreSQL."""
    closed = list(values(CLOSED_STATUSES))
    async with sessions() as session:
        row = (
            await session.exec(
                _COUNTS,  # type: ignore[call-overload]
                params={
                    "closed": closed,
                    "crisis": list(CRISIS_TIERS),
                    "after": UNAPPLIED_AFTER,
                    "within": UNAPPLIED_WITHIN,
                },
            )
        ).one()
        by_tier = dict(
            (await session.exec(_OPEN_BY_TIER, params={"closed": closed})).all()  # type: ignore[call-overload]
        )
    OUTBOX_BACKLOG.set(row.outbox_backlog)
    DEAD_LETTERS.set(row.dead_letters)
    MENTION_FAILURES.labels(state="retrying").set(row.retrying)
    MENTION_FAILURES.labels(state="given_up").set(row.given_up)
    WEBHOOK_DELIVERIES_PENDING.set(row.pending_deliveries)
    TASKS_OVERDUE.set(row.tasks_overdue)
    UNAPPLIED_SIGNALS.set(row.unapplied_signals)
    for tier in Tier:
        INCIDENTS_OPEN.labels(tier=tier.value).set(int(by_tier.get(tier.value, 0)))


async def sample_queues(redis: Redis, queues: Sequence[str]) -> None:
    """Set each queue's depth and how long its oldest due job has waited.

    An arq queue is a sorted set of job ids scored by the millisecond each is due; a job
    stays in it while it runs. A retry deferred into the future has not waited yet.
    """
    now_ms = time.time() * 1000
    for queue in queues:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.zcard(queue)
            pipe.zrange(queue, 0, 0, withscores=True)
            depth, oldest = await pipe.execute()
        QUEUE_DEPTH.labels(queue=queue).set(int(depth))
        waited = (now_ms - float(oldest[0][1])) / 1000 if oldest else 0.0
        QUEUE_OLDEST_JOB_AGE.labels(queue=queue).set(max(0.0, waited))


class ClusterGauges(Periodic):
    """The sampling loop a worker runs beside its routes."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        redis: Redis,
        queues: Sequence[str] = QUEUES,
        *,
        interval: float = SAMPLE_INTERVAL_SECONDS,
    ) -> None:
        async def step() -> None:
            # Each source on its own: Redis away must not blank the database's gauges.
            try:
                await sample_queues(redis, queues)
            finally:
                await sample_database(sessions)

        super().__init__("cluster gauges", step, interval=interval)
