"""Integration events: written in the transaction of the change they report, sent after it.

An event's id is derived from what happened (its type and the occurrence's own key, such
as a timeline event's or a task's id), so handling the same change twice yields the same
id and the row is written once. The returned message goes out through the worker
harness's outbox after commit, to the events queue that webhook delivery consumes.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EventType
from libs.contracts.response import IntegrationEventEmitted
from libs.database.tables import IntegrationEvent

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
    """Store the event (once) and return the message announcing it."""
    identifier = event_id(type_, key)
    await session.exec(
        insert(IntegrationEvent)
        .values(
            id=identifier,
            organization_id=organization_id,
            type=type_.value,
            incident_id=incident_id,
            payload=payload,
            occurred_at=occurred_at,
        )
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return IntegrationEventEmitted(
        organization_id=organization_id,
        event_id=identifier,
        type=type_,
        incident_id=incident_id,
        occurred_at=occurred_at,
        payload=payload,
    )
