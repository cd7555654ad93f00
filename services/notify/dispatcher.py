"""The dispatcher: claims due deliveries a batch at a time, sends them, records the answers.

A claim (`FOR UPDATE SKIP LOCKED`, so several workers share the work without waiting on each
other) moves the delivery's next attempt a short lease into the future and commits; the
requests are then made outside any transaction, so no database connection waits on a slow
receiver; each answer is recorded in its own transaction, and only if the delivery still
carries that lease (a redelivery in the meantime wins). If the process dies mid-send, the
lease runs out and another pass sends the delivery again, with the same `webhook-id`.

Time comes from a `Clock`, so tests move it by hand through the retry schedule.
"""

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy import func
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.engine import transaction
from libs.database.tables import WebhookDelivery, WebhookEndpoint, WebhookPolicy
from libs.messaging.periodic import Periodic
from libs.privacy import DataKey, DecryptionError
from services.notify import delivery, retries, webhook_secrets
from services.notify.delivery import Answer, Attempt

log = logging.getLogger(__name__)

BATCH_SIZE = 50
MAX_BATCHES_PER_PASS = 20
CONCURRENCY = 10
LEASE = timedelta(minutes=2)
"""Longer than one attempt can take (10 s timeout), so a live attempt is never sent twice."""

PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
GONE = "gone"
ACTIVE = "active"
DISABLED = "disabled"


class Clock(Protocol):
    """Where the current time comes from."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that shows one instant until moved; for one-off passes and tests."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        """Return the instant this clock is set to."""
        return self.current


async def claim(
    session: AsyncSession, key: DataKey, now: datetime, *, limit: int = BATCH_SIZE
) -> list[Attempt]:
    """Lease up to `limit` due deliveries of active endpoints and return them ready to send."""
    result = await session.exec(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, col(WebhookEndpoint.id) == col(WebhookDelivery.endpoint_id))
        .where(
            col(WebhookDelivery.status) == PENDING,
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookEndpoint.status) == ACTIVE,
        )
        .order_by(col(WebhookDelivery.next_attempt_at))
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    rows = list(result.all())
    if not rows:
        return []
    organizations = {row.organization_id for row, _ in rows}
    policies = await session.exec(
        select(WebhookPolicy).where(col(WebhookPolicy.organization_id).in_(organizations))
    )
    allowed = {p.organization_id for p in policies.all() if p.allow_private_destinations}
    lease = now + LEASE
    attempts: list[Attempt] = []
    for row, endpoint in rows:
        row.next_attempt_at = lease
        session.add(row)
        problem: str | None = None
        try:
            secrets = webhook_secrets.signing_secrets(key, endpoint, now)
        except DecryptionError:
            secrets, problem = [], "the endpoint's secret does not decrypt with the data key"
        attempts.append(
            Attempt(
                delivery_id=row.id,
                organization_id=row.organization_id,
                endpoint_id=endpoint.id,
                event_id=row.event_id,
                event_type=row.event_type,
                kind=endpoint.kind,
                url=endpoint.url,
                body=dict(row.payload),
                secrets=secrets,
                allow_private=row.organization_id in allowed,
                lease=lease,
                problem=problem,
            )
        )
    await session.flush()
    return attempts


async def record(session: AsyncSession, attempt: Attempt, answer: Answer, *, now: datetime) -> str:
    """Store one attempt's answer and its consequences; return the delivery's new status."""
    # Endpoint before delivery: the same lock order as deleting an endpoint.
    endpoint = (
        await session.exec(
            select(WebhookEndpoint)
            .where(col(WebhookEndpoint.id) == attempt.endpoint_id)
            .with_for_update()
        )
    ).first()
    row = (
        await session.exec(
            select(WebhookDelivery)
            .where(
                col(WebhookDelivery.id) == attempt.delivery_id,
                col(WebhookDelivery.status) == PENDING,
                col(WebhookDelivery.next_attempt_at) == attempt.lease,
            )
            .with_for_update()
        )
    ).first()
    if endpoint is None or row is None:
        return "superseded"  # deleted or redelivered while this attempt was in flight
    row.attempts += 1
    row.last_status_code = answer.status_code
    row.last_error = answer.error
    row.updated_at = now
    if answer.succeeded:
        row.status, row.delivered_at, row.next_attempt_at = SUCCEEDED, now, None
        endpoint.failing_since = None
    elif answer.gone:
        row.status, row.next_attempt_at = GONE, None
        endpoint.status = DISABLED
        endpoint.disabled_reason = (
            f"disabled at {now.isoformat()}: the receiver answered 410 Gone for event "
            f"{attempt.event_id}, so deliveries stopped for good; enable the endpoint to resume"
        )
    else:
        retry_at = retries.next_attempt_at(row.attempts, now)
        row.status = PENDING if retry_at is not None else FAILED
        row.next_attempt_at = retry_at
        if endpoint.failing_since is None:
            endpoint.failing_since = now
        session.add(row)
        await session.flush()
        failed = await _failed_attempts_since(session, endpoint.id, endpoint.failing_since)
        if endpoint.status == ACTIVE and retries.should_disable(
            endpoint.failing_since, failed, now
        ):
            endpoint.status = DISABLED
            endpoint.disabled_reason = (
                f"disabled at {now.isoformat()}: every delivery has failed since "
                f"{endpoint.failing_since.isoformat()} ({failed} failed attempts, the last: "
                f"{answer.error or 'no answer'}); fix the receiver, then enable the endpoint "
                "and redeliver what it missed"
            )
    endpoint.updated_at = now
    session.add(row)
    session.add(endpoint)
    await session.flush()
    return row.status


async def _failed_attempts_since(
    session: AsyncSession, endpoint_id: uuid.UUID, since: datetime
) -> int:
    """Count attempts made since `since` on deliveries not delivered (all failures)."""
    result = await session.exec(
        select(func.coalesce(func.sum(WebhookDelivery.attempts), 0)).where(
            col(WebhookDelivery.endpoint_id) == endpoint_id,
            col(WebhookDelivery.status).in_((PENDING, FAILED)),
            col(WebhookDelivery.updated_at) >= since,
        )
    )
    return int(result.one())


class Dispatcher(Periodic):
    """Send due deliveries every `interval` seconds; `start()`/`stop()` come from `Periodic`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key: DataKey,
        clock: Clock,
        *,
        interval: float,
        client: httpx.AsyncClient | None = None,
        console_url: str | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._clock = clock
        self._owns_client = client is None
        self._client = client or delivery.new_client()
        self._console_url = console_url
        self._batch_size = batch_size
        self._limit = asyncio.Semaphore(CONCURRENCY)
        super().__init__("webhook dispatcher", self._pass, interval=interval)

    async def run_once(self) -> int:
        """Send everything due now, a batch at a time; return how many attempts were made."""
        made = 0
        for _ in range(MAX_BATCHES_PER_PASS):
            async with transaction(self._sessions) as session:
                attempts = await claim(
                    session, self._key, self._clock.now(), limit=self._batch_size
                )
            if not attempts:
                break
            await asyncio.gather(*(self._attempt(attempt) for attempt in attempts))
            made += len(attempts)
            if len(attempts) < self._batch_size:
                break
        return made

    async def stop(self) -> None:
        """Stop the loop after its current pass and close the HTTP client it made."""
        await super().stop()
        await self.close()

    async def close(self) -> None:
        """Close the HTTP client if this dispatcher created it."""
        if self._owns_client:
            await self._client.aclose()

    async def _attempt(self, attempt: Attempt) -> None:
        async with self._limit:
            answer = await delivery.send(
                self._client, attempt, now=self._clock.now(), console_url=self._console_url
            )
        async with transaction(self._sessions) as session:
            status = await record(session, attempt, answer, now=self._clock.now())
        if not answer.succeeded:
            log.warning(
                "webhook delivery %s to endpoint %s: %s (now %s)",
                attempt.delivery_id,
                attempt.endpoint_id,
                answer.error or f"HTTP {answer.status_code}",
                status,
            )

    async def _pass(self) -> None:
        count = await self.run_once()
        if count:
            log.info("webhook dispatcher: %d attempt(s) made", count)
