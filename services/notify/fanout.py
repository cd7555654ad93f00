"""Fan-out: one delivery per subscribed, active endpoint for each integration event.

The delivery row is the durable promise to send: it is written in the transaction that
consumes the event, so an event accepted here is never lost, and the unique key
(endpoint, event) means an event published twice (a replayed outbox row, a re-run of the
incidents handler) still yields one delivery per endpoint. Payloads are masked before they
are stored, so no clear phone number, e-mail address or ID card number reaches the log or a
receiver.
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import any_
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.response import IntegrationEventEmitted
from libs.database.tables import WebhookDelivery, WebhookEndpoint
from libs.privacy import mask_value

ACTIVE = "active"
PENDING = "pending"


def event_body(event: IntegrationEventEmitted) -> dict[str, Any]:
    """Return the Standard Webhooks body of `event`: type, timestamp and masked data."""
    return {
        "type": event.type.value,
        "timestamp": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": mask_value(dict(event.payload)),
    }


async def fan_out(session: AsyncSession, event: IntegrationEventEmitted, *, now: datetime) -> int:
    """Create the deliveries of `event`, due now; return how many were new."""
    result = await session.exec(
        select(WebhookEndpoint.id).where(
            WebhookEndpoint.organization_id == event.organization_id,
            WebhookEndpoint.status == ACTIVE,
            event.type.value == any_(WebhookEndpoint.event_types),  # type: ignore[arg-type]
        )
    )
    endpoint_ids: list[uuid.UUID] = list(result.all())
    if not endpoint_ids:
        return 0
    body = event_body(event)
    rows = [
        {
            "id": uuid.uuid4(),
            "organization_id": event.organization_id,
            "endpoint_id": endpoint_id,
            "event_id": event.event_id,
            "event_type": event.type.value,
            "payload": body,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for endpoint_id in endpoint_ids
    ]
    inserted = await session.exec(
        insert(WebhookDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(col(WebhookDelivery.id))
    )
    return len(list(inserted.all()))
