"""The critical alert's gauge counts crisis signals incidents has not applied, by their mark.

A fall to a crisis tier (red to orange) is applied without any timeline entry naming it;
the gauge must not count it, and must count a crisis signal nobody applied.
"""

from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlmodel import col, select, update

from libs.clock import FixedClock
from libs.contracts.enums import Tier
from libs.database.engine import transaction
from libs.database.tables import Drill, Incident, RiskSignal
from libs.metrics.cluster import sample_database
from services.incidents.signals.fall import apply_fall
from services.incidents.tests.builders import apply, make_fall, make_signal, make_watchlist
from tests.builders import Sessions

# The gauge counts the whole database: one backend, where no other test writes meanwhile.
pytestmark = pytest.mark.parametrize("servers", ["embedded"], indirect=True)


async def _unapplied(sessions: Sessions) -> float:
    await sample_database(sessions)
    value = REGISTRY.get_sample_value("crisiswatch_unapplied_signals")
    assert value is not None
    return value


async def _age(sessions: Sessions, *signals: object) -> None:
    """Make the signals two minutes old: the gauge leaves the last minute's alone."""
    ids = [getattr(s, "signal_id") for s in signals]  # noqa: B009
    async with transaction(sessions) as session:
        await session.exec(
            update(RiskSignal)
            .where(col(RiskSignal.id).in_(ids))
            .values(created_at=datetime.now(UTC) - timedelta(minutes=2))
        )


async def test_a_crisis_signal_counts_until_applied_and_an_applied_fall_never(
    sessions: Sessions,
) -> None:
    before = await _unapplied(sessions)
    watchlist = await make_watchlist(sessions)
    now = datetime.now(UTC)
    raised = await make_signal(sessions, watchlist, Tier.RED, detected_at=now)
    await _age(sessions, raised)
    assert await _unapplied(sessions) == before + 1

    await apply(sessions, raised, now=now)
    assert await _unapplied(sessions) == before

    fell = await make_fall(sessions, watchlist, Tier.RED, Tier.ORANGE, detected_at=now)
    await _age(sessions, fell)
    assert await _unapplied(sessions) == before + 1, "a stored orange fall awaits its mark"

    async with transaction(sessions) as session:
        await apply_fall(session, fell, clock=FixedClock(now))
    assert await _unapplied(sessions) == before, "an applied fall leaves no timeline entry"


async def test_a_drill_incident_counts_in_no_crisis_gauge(sessions: Sessions) -> None:
    async def sampled() -> tuple[float, float]:
        await sample_database(sessions)
        opened = REGISTRY.get_sample_value("crisiswatch_incidents_open", {"tier": "orange"})
        overdue = REGISTRY.get_sample_value("crisiswatch_tasks_overdue")
        assert opened is not None and overdue is not None
        return opened, overdue

    watchlist = await make_watchlist(sessions, name="演练·产品安全·gauge")
    async with transaction(sessions) as session:
        session.add(
            Drill(
                organization_id=watchlist.organization_id,
                watchlist_id=watchlist.id,
                scenario="product_safety",
                speed=60.0,
                delivery="suppress",
                state="running",
                started_by="gauge",
            )
        )
    before = await sampled()
    # Detected long ago: every task of the drill's incident is past its deadline.
    signal = await make_signal(
        sessions, watchlist, Tier.ORANGE, detected_at=datetime.now(UTC) - timedelta(days=3)
    )
    await apply(sessions, signal, now=datetime.now(UTC))
    async with sessions() as session:
        [incident] = (
            await session.exec(select(Incident).where(Incident.watchlist_id == watchlist.id))
        ).all()
    assert incident.drill
    assert await sampled() == before
