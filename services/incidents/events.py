"""Integration events: written in the transaction of the change they report, sent after it.

An event's id is derived from what happened (its type and the occurrence's own key, such
as a timeline event's or a task's id), so handling the same change twice yields the same
id and the row is written once. The returned message goes out after commit, to the events
queue that webhook delivery consumes.

The payload is the event's typed body (`libs.contracts.events`), plus, for an event about
an incident, the incident's summary as `incident` (see `summary`), read here so that no
caller has to build it.
"""

import uuid
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import DrillDelivery, EventType
from libs.contracts.events import EventBody
from libs.contracts.response import IntegrationEventEmitted
from services.incidents import repository
from services.incidents.summary import incident_summary

_NAMESPACE = uuid.UUID("5b0e2c1e-9a43-4c55-8f0c-6a2f4b1d7e11")


def event_id(type_: EventType, key: str) -> uuid.UUID:
    """Return the stable id of the event `type_` for the occurrence `key`."""
    return uuid.uuid5(_NAMESPACE, f"{type_.value}:{key}")


async def record(
    session: AsyncSession,
    body: EventBody,
    organization_id: uuid.UUID,
    incident_id: uuid.UUID | None,
    *,
    key: str,
    at: datetime,
) -> IntegrationEventEmitted:
    """Store the event of type `body.TYPE` that happened `at` (once); return its message.

    `key` names the occurrence (see `event_id`); an event about an incident carries its
    summary, and, when that incident is a drill's, how notify must treat it (`drill`).
    """
    payload = body.body()
    drill: DrillDelivery | None = None
    if incident_id is not None:
        summary = await incident_summary(session, incident_id, at=at)
        if summary is not None:
            payload["incident"] = summary.model_dump(mode="json")
            if summary.drill:
                delivery = await repository.drill_delivery(session, summary.watchlist.id)
                # A drill's event is never sent unmarked: without its row, send nothing.
                drill = DrillDelivery(delivery or DrillDelivery.SUPPRESS)
    message = IntegrationEventEmitted(
        organization_id=organization_id,
        event_id=event_id(body.TYPE, key),
        type=body.TYPE,
        incident_id=incident_id,
        occurred_at=at,
        payload=payload,
        drill=drill,
    )
    await repository.store_event(session, message)
    return message
