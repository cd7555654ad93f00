"""Fan-out: one delivery per subscribed, active endpoint for each integration event.

The delivery row is the durable promise to send: it is written in the transaction that
consumes the event, so an event accepted here is never lost, and the unique key
(endpoint, event) means an event published twice (a replayed outbox row, a re-run of the
incidents handler) still yields one delivery per endpoint. Payloads are masked before they
are stored, so no clear phone number, e-mail address or ID card number reaches the log or a
receiver; ids are left whole, since a random id can look like a phone number written with
dashes. The incident summary gets the console page of the incident (`console_url`) when
the deployment has one, so a receiver can link to it without knowing the console.

A drill's event (`event.drill`) is never sent as if it were a crisis: `suppress` makes no
delivery at all, `label` sends it with `drill: true` and `label: 【演练】` in its data (chat
cards put the label before their title, `chat.renderers`).
"""

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import DrillDelivery
from libs.contracts.response import IntegrationEventEmitted
from libs.database.tables import WebhookDelivery
from libs.ids import new_id
from libs.privacy import mask_text
from services.notify import repository
from services.notify.chat.cards import DRILL_LABEL, incident_link

_ID_LENGTH = 36


def event_body(event: IntegrationEventEmitted, *, console_url: str | None = None) -> dict[str, Any]:
    """Return the Standard Webhooks body of `event`: type, timestamp and masked data."""
    data = mask_payload(dict(event.payload))
    summary = data.get("incident")
    link = incident_link(console_url, event.incident_id)
    if isinstance(summary, dict) and link is not None:
        data["incident"] = summary | {"console_url": link}
    if event.drill is not None:
        data |= {"drill": True, "label": DRILL_LABEL}
    return {
        "type": event.type.value,
        "timestamp": event.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "data": data,
    }


def mask_payload(value: Any) -> Any:
    """Mask every string inside `value` except ids, walking dicts and lists."""
    if isinstance(value, str):
        return value if _is_id(value) else mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_payload(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [mask_payload(item) for item in value]
    return value


def _is_id(text: str) -> bool:
    if len(text) != _ID_LENGTH:
        return False
    try:
        return str(uuid.UUID(text)) == text.lower()
    except ValueError:
        return False


async def fan_out(
    session: AsyncSession,
    event: IntegrationEventEmitted,
    *,
    now: datetime,
    console_url: str | None = None,
) -> int:
    """Create the deliveries of `event`, due now; return how many were new.

    `console_url` is the base of the console's incident pages (`CONSOLE_URL`), or None.
    A suppressed drill's event makes none.
    """
    if event.drill is DrillDelivery.SUPPRESS:
        return 0
    endpoint_ids = await repository.subscribed_endpoints(
        session, event.organization_id, event.type.value
    )
    if not endpoint_ids:
        return 0
    body = event_body(event, console_url=console_url)
    rows = [
        WebhookDelivery(
            id=new_id(),
            organization_id=event.organization_id,
            endpoint_id=endpoint_id,
            event_id=event.event_id,
            event_type=event.type.value,
            payload=body,
            status=repository.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            updated_at=now,
        )
        for endpoint_id in endpoint_ids
    ]
    return await repository.add_new_deliveries(session, rows)
