"""The notify service's SQL: endpoints, their delivery log and the organizations' policies.

Rows go in and come out as the table models of `libs.database.tables.notify`; the rules of
what to write live in the service and its sub-domains. Nothing here commits: the caller's
unit of work does.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import any_, delete, func
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.owned import owned
from libs.database.tables import WebhookDelivery, WebhookEndpoint, WebhookPolicy

# The stored states of an endpoint and of a delivery.
ACTIVE = "active"
DISABLED = "disabled"
PENDING = "pending"
SUCCEEDED = "succeeded"
FAILED = "failed"
GONE = "gone"


async def save(session: AsyncSession, *rows: WebhookEndpoint | WebhookDelivery) -> None:
    """Stage `rows` (new or changed) and flush them."""
    session.add_all(rows)
    await session.flush()


async def endpoint_for_update(
    session: AsyncSession, organization_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint | None:
    """Return the organization's endpoint, locked, or None when it has no such endpoint."""
    return await owned(session, WebhookEndpoint, organization_id, endpoint_id, lock=True)


async def delivery_for_update(
    session: AsyncSession, organization_id: uuid.UUID, delivery_id: uuid.UUID
) -> WebhookDelivery | None:
    """Return the organization's logged delivery, locked, or None when it has no such one."""
    return await owned(session, WebhookDelivery, organization_id, delivery_id, lock=True)


async def delete_endpoint(session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Delete `endpoint` and its delivery log."""
    await session.exec(
        delete(WebhookDelivery).where(col(WebhookDelivery.endpoint_id) == endpoint.id)
    )
    await session.delete(endpoint)
    await session.flush()


async def set_policy(
    session: AsyncSession, organization_id: uuid.UUID, *, allow_private: bool, now: datetime
) -> None:
    """Store the organization's policy, creating or replacing it."""
    await session.exec(
        insert(WebhookPolicy)
        .values(
            organization_id=organization_id,
            allow_private_destinations=allow_private,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["organization_id"],
            set_={"allow_private_destinations": allow_private, "updated_at": now},
        )
    )


async def subscribed_endpoints(
    session: AsyncSession, organization_id: uuid.UUID, event_type: str
) -> list[uuid.UUID]:
    """Return the ids of the organization's active endpoints subscribed to `event_type`."""
    result = await session.exec(
        select(WebhookEndpoint.id).where(
            col(WebhookEndpoint.organization_id) == organization_id,
            col(WebhookEndpoint.status) == ACTIVE,
            any_(col(WebhookEndpoint.event_types)) == event_type,
        )
    )
    return list(result.all())


async def add_new_deliveries(session: AsyncSession, rows: Sequence[WebhookDelivery]) -> int:
    """Insert the deliveries an endpoint does not have yet for their event; return how many."""
    if not rows:
        return 0
    inserted = await session.exec(
        insert(WebhookDelivery)
        .values([row.model_dump() for row in rows])
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(col(WebhookDelivery.id))
    )
    return len(list(inserted.all()))


async def due_deliveries(
    session: AsyncSession, now: datetime, limit: int
) -> list[tuple[WebhookDelivery, WebhookEndpoint]]:
    """Lock up to `limit` pending deliveries due at `now` to active endpoints, soonest first.

    Rows another transaction holds are skipped, so several workers share the work without
    waiting on each other.
    """
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
    return list(result.all())


async def endpoint_locked(session: AsyncSession, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
    """Return the endpoint, locked, or None when it was deleted."""
    result = await session.exec(
        select(WebhookEndpoint).where(col(WebhookEndpoint.id) == endpoint_id).with_for_update()
    )
    return result.first()


async def leased_delivery(
    session: AsyncSession, delivery_id: uuid.UUID, lease: datetime
) -> WebhookDelivery | None:
    """Return the delivery, locked, if it is still pending under `lease`; otherwise None."""
    result = await session.exec(
        select(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.status) == PENDING,
            col(WebhookDelivery.next_attempt_at) == lease,
        )
        .with_for_update()
    )
    return result.first()


async def failed_attempts_since(
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
