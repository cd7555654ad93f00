"""The backtest reads: backtests by id, and a watchlist's recorded incidents in a range."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from gateway.core.reads import ById, Sessions, reading
from libs.contracts.backtests import Recorded
from libs.contracts.enums import IncidentStatus
from libs.database.tables import Backtest, Incident

BACKTESTS = ById(Backtest, col(Backtest.id))


async def recorded_incidents(
    sessions: Sessions,
    organization_id: uuid.UUID,
    watchlist_id: uuid.UUID,
    since: datetime,
    until: datetime,
) -> Sequence[Recorded]:
    """The watchlist's incidents detected in [since, until], oldest first, as they are now."""
    statement = (
        select(col(Incident.id), col(Incident.detected_at), col(Incident.status))
        .where(
            col(Incident.organization_id) == organization_id,
            col(Incident.watchlist_id) == watchlist_id,
            col(Incident.detected_at) >= since,
            col(Incident.detected_at) <= until,
        )
        .order_by(col(Incident.detected_at), col(Incident.id))
    )
    async with reading(sessions) as connection:
        rows = (await connection.execute(statement)).all()
    return [
        Recorded(row.id, row.detected_at, row.status == IncidentStatus.FALSE_ALARM) for row in rows
    ]
