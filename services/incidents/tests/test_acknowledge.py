"""The AcknowledgeIncident command through a real incidents worker, awaited with `call`."""

import uuid
from datetime import UTC, datetime

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import IncidentStatus, TaskStatus, Tier
from libs.contracts.messages import AcknowledgeIncident
from libs.database.engine import transaction
from libs.database.tables import Incident
from libs.messaging.publisher import call
from services.incidents.tests.builders import (
    make_org,
    make_watchlist,
    open_incident,
    reload,
    running_worker,
    tasks_of,
    timeline_of,
)
from tests.fixtures.servers import Servers

TIMEOUT = 10


async def _incident(sessions: async_sessionmaker[AsyncSession]) -> Incident:
    watchlist = await make_watchlist(sessions)
    # Detected now: the running worker's deadline watchdog must find nothing overdue.
    now = datetime.now(UTC)
    return await open_incident(sessions, watchlist, Tier.ORANGE, detected_at=now)


def _acknowledge(
    incident: Incident, actor: str = "key-responder", note: str | None = None
) -> AcknowledgeIncident:
    return AcknowledgeIncident(
        organization_id=incident.organization_id, incident_id=incident.id, actor=actor, note=note
    )


async def test_acknowledging_a_detected_incident_starts_monitoring(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    incident = await _incident(sessions)

    async with running_worker(servers):
        result = await call(redis, _acknowledge(incident, note="值班监测员已接手"), timeout=TIMEOUT)

    assert result.ok, result.error
    stored = await reload(sessions, incident)
    assert stored.status == IncidentStatus.ACKNOWLEDGED
    assert stored.acknowledged_by == "key-responder"
    assert stored.acknowledged_at is not None and stored.updated_at == stored.acknowledged_at
    assert result.data == {
        "id": str(incident.id),
        "status": "acknowledged",
        "acknowledged_at": stored.acknowledged_at.isoformat(),
        "acknowledged_by": "key-responder",
    }
    assert datetime.fromisoformat(result.data["acknowledged_at"]) == stored.acknowledged_at

    tasks = {t.kind: t for t in await tasks_of(sessions, incident)}
    assert tasks["acknowledge"].status == TaskStatus.DONE
    assert tasks["acknowledge"].completed_at == stored.acknowledged_at
    assert all(t.status == TaskStatus.OPEN for kind, t in tasks.items() if kind != "acknowledge")

    events = await timeline_of(sessions, incident)
    assert [e.kind for e in events] == ["opened", "status_changed", "task_done"]
    changed = events[1]
    assert changed.actor == "key-responder"
    assert changed.data == {"from": "detected", "to": "acknowledged", "note": "值班监测员已接手"}
    assert "已确认" in changed.message and "值班监测员已接手" in changed.message
    assert events[2].actor == "key-responder" and "确认事件并启动监测" in events[2].message


async def test_acknowledging_again_answers_the_same_and_changes_nothing(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    incident = await _incident(sessions)
    first_command = _acknowledge(incident, actor="key-a")

    async with running_worker(servers):
        first = await call(redis, first_command, timeout=TIMEOUT)
        again = await call(redis, _acknowledge(incident, actor="key-b"), timeout=TIMEOUT)
        replayed = await call(redis, first_command, timeout=TIMEOUT)

    assert first.ok and again.ok and replayed.ok
    assert again.data == first.data == replayed.data
    assert first.data["acknowledged_by"] == "key-a"
    events = await timeline_of(sessions, incident)
    assert [e.kind for e in events] == ["opened", "status_changed", "task_done"]


async def test_acknowledging_an_unknown_incident_is_not_found(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    incident = await _incident(sessions)
    missing = uuid.uuid4()
    command = AcknowledgeIncident(
        organization_id=incident.organization_id, incident_id=missing, actor="key-responder"
    )

    async with running_worker(servers):
        result = await call(redis, command, timeout=TIMEOUT)

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("NotFound", "id")
    assert result.error.message == f"incident {missing} not found"


async def test_acknowledging_another_organizations_incident_is_not_found(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    theirs = await _incident(sessions)
    ours = await make_org(sessions)
    command = AcknowledgeIncident(
        organization_id=ours, incident_id=theirs.id, actor="key-responder"
    )

    async with running_worker(servers):
        result = await call(redis, command, timeout=TIMEOUT)

    assert not result.ok and result.error is not None
    assert result.error.code == "NotFound"
    assert result.error.message == f"incident {theirs.id} not found"
    assert (await reload(sessions, theirs)).status == IncidentStatus.DETECTED


async def test_acknowledging_a_resolved_incident_is_an_invalid_transition(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    incident = await _incident(sessions)
    async with transaction(sessions) as session:
        stored = await session.get(Incident, incident.id)
        assert stored is not None
        stored.status = IncidentStatus.RESOLVED.value
        session.add(stored)

    async with running_worker(servers):
        result = await call(redis, _acknowledge(incident), timeout=TIMEOUT)

    assert not result.ok and result.error is not None
    assert (result.error.code, result.error.field) == ("InvalidTransition", "id")
    assert result.error.message == "cannot acknowledge an incident that is resolved"
    stored_after = await reload(sessions, incident)
    assert stored_after.status == IncidentStatus.RESOLVED
    assert stored_after.acknowledged_at is None
    tasks = {t.kind: t for t in await tasks_of(sessions, incident)}
    assert tasks["acknowledge"].status == TaskStatus.OPEN
    assert [e.kind for e in await timeline_of(sessions, incident)] == ["opened"]
