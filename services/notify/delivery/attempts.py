"""The two database steps around each attempt: lease what is due, then record the answer.

A claim moves each due delivery's next attempt a short lease into the future, so once the
claiming transaction commits no other pass takes it while it is being sent; the request is
made outside any transaction; the answer is recorded only if the delivery still carries
that lease (a redelivery in the meantime wins). If the process dies mid-send, the lease runs
out and another pass sends the delivery again, with the same `webhook-id`.
"""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import WebhookDelivery, WebhookEndpoint
from libs.metrics.commit import after_commit
from libs.metrics.definitions import WEBHOOK_DELIVERIES
from libs.privacy import DataKey, DecryptionError
from services.notify import repository
from services.notify.delivery import retries
from services.notify.delivery.delivery import Answer, Attempt
from services.notify.endpoints import webhook_secrets
from services.notify.repository import ACTIVE, DISABLED, FAILED, GONE, PENDING, SUCCEEDED

LEASE = timedelta(minutes=2)
"""Longer than one attempt can take (10 s timeout), so a live attempt is never sent twice."""

SUPERSEDED = "superseded"
"""What `record` answers when the delivery was deleted or redelivered during the attempt."""


async def claim(session: AsyncSession, key: DataKey, now: datetime, *, limit: int) -> list[Attempt]:
    """Lease up to `limit` due deliveries of active endpoints and return them ready to send."""
    rows = await repository.due_deliveries(session, now, limit)
    if not rows:
        return []
    lease = now + LEASE
    for row, _ in rows:
        row.next_attempt_at = lease
    await repository.save(session, *(row for row, _ in rows))
    return [_attempt(key, row, endpoint, now=now, lease=lease) for row, endpoint in rows]


def _attempt(
    key: DataKey,
    row: WebhookDelivery,
    endpoint: WebhookEndpoint,
    *,
    now: datetime,
    lease: datetime,
) -> Attempt:
    problem: str | None = None
    try:
        secrets = webhook_secrets.signing_secrets(key, endpoint, now)
    except DecryptionError:
        secrets, problem = [], "the endpoint's secret does not decrypt with the data key"
    return Attempt(
        delivery_id=row.id,
        endpoint_id=endpoint.id,
        **row.model_dump(include={"organization_id", "event_id", "event_type"}),
        **endpoint.model_dump(include={"kind", "url"}),
        body=dict(row.payload),
        secrets=secrets,
        lease=lease,
        problem=problem,
    )


# How an attempt left its delivery, as the metrics name it: a pending one is tried again.
_OUTCOMES = {SUCCEEDED: "succeeded", PENDING: "retrying", FAILED: "failed", GONE: "gone"}


async def record(session: AsyncSession, attempt: Attempt, answer: Answer, *, now: datetime) -> str:
    """Store one attempt's answer and its consequences; return the delivery's new status."""
    # Endpoint before delivery: the same lock order as deleting an endpoint.
    endpoint = await repository.endpoint_locked(session, attempt.endpoint_id)
    row = await repository.leased_delivery(session, attempt.delivery_id, attempt.lease)
    if endpoint is None or row is None:
        return SUPERSEDED
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
        await _record_failure(session, row, endpoint, answer, now=now)
    endpoint.updated_at = now
    await repository.save(session, row, endpoint)
    after_commit(session, WEBHOOK_DELIVERIES.labels(outcome=_OUTCOMES[row.status]).inc)
    return row.status


async def _record_failure(
    session: AsyncSession,
    row: WebhookDelivery,
    endpoint: WebhookEndpoint,
    answer: Answer,
    *,
    now: datetime,
) -> None:
    """Schedule the next try (or give up), and disable an endpoint that keeps failing."""
    retry_at = retries.next_attempt_at(row.attempts, now)
    row.status = PENDING if retry_at is not None else FAILED
    row.next_attempt_at = retry_at
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    # The count below must include this attempt.
    await repository.save(session, row)
    failed = await repository.failed_attempts_since(session, endpoint.id, endpoint.failing_since)
    if endpoint.status == ACTIVE and retries.should_disable(endpoint.failing_since, failed, now):
        endpoint.status = DISABLED
        endpoint.disabled_reason = (
            f"disabled at {now.isoformat()}: every delivery has failed since "
            f"{endpoint.failing_since.isoformat()} ({failed} failed attempts, the last: "
            f"{answer.error or 'no answer'}); fix the receiver, then enable the endpoint "
            "and redeliver what it missed"
        )
