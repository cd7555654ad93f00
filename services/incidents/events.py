"""Integration events: written in the transaction of the change they report, sent after it.

An event's id is derived from what happened (its type and the occurrence's own key, such
as a timeline event's or a task's id), so handling the same change twice yields the same
id and the row is written once. The returned message goes out through the worker
harness's outbox after commit, to the events queue that webhook delivery consumes.

An event about an incident carries the incident's summary in its payload (`incident`, see
`summary`), read here so that no caller has to build it.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EventType
from libs.contracts.response import IntegrationEventEmitted
from libs.database.tables import IntegrationEvent
from services.incidents.summary import incident_summary

_NAMESPACE = uuid.UUID("5b0e2c1e-9a43-4c55-8f0c-6a2f4b1d7e11")


def event_id(type_: EventType, key: str) -> uuid.UUID:
    """Return the stable id of the event `type_` for the occurrence `key`."""
    return uuid.uuid5(_NAMESPACE, f"{type_.value}:{key}")


async def record(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    type_: EventType,
    key: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    incident_id: uuid.UUID | None = None,
) -> IntegrationEventEmitted:
    """Store the event (once) and return the message announcing it.

    `payload` holds the event's own fields; the summary of `incident_id` is added to it as
    `incident`.
    """
    body = dict(payload)
    if incident_id is not None:
        summary = await incident_summary(session, incident_id, at=occurred_at)
        if summary is not None:
            body["incident"] = summary.model_dump(mode="json")
    message = IntegrationEventEmitted(
        organization_id=organization_id,
        event_id=event_id(type_, key),
        type=type_,
        incident_id=incident_id,
        occurred_at=occurred_at,
        payload=body,
    )
    await session.exec(
        insert(IntegrationEvent)
        .values(
            id=message.event_id,
            organization_id=organization_id,
            type=type_.value,
            incident_id=incident_id,
            payload=message.payload,
            occurred_at=occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return message
