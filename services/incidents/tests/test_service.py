"""The service façade and the worker's route table: one handler per message, joined steps."""

from datetime import timedelta

from sqlmodel import select

from libs.contracts.enums import IncidentStatus, Tier
from libs.contracts.messages import ALL_MESSAGES, INCIDENTS_QUEUE
from libs.contracts.notify import NOTIFY_MESSAGES
from libs.contracts.response import RESPONSE_MESSAGES, TransitionIncident
from libs.database.engine import transaction
from libs.database.tables import AffectedUser, Incident, ReviewReport
from services.incidents import service
from services.incidents.tests.builders import (
    DETECTED_AT,
    add_user_command,
    at,
    command_about,
    force,
    integration_events,
    landed,
    make_signal,
    make_watchlist,
    open_incident,
    timeline_of,
)
from services.incidents.worker import ROUTES
from tests.builders import Sessions, read_all

NOW = DETECTED_AT + timedelta(hours=5)


def test_the_worker_routes_every_message_of_the_incidents_queue_once() -> None:
    queued = {
        message
        for message in ALL_MESSAGES + RESPONSE_MESSAGES + NOTIFY_MESSAGES
        if message.QUEUE == INCIDENTS_QUEUE
    }
    routed = [route.message for route in ROUTES]
    assert len(routed) == len(set(routed))
    assert set(routed) == queued


def _resolve(incident: Incident) -> TransitionIncident:
    return command_about(
        TransitionIncident, incident, "key-commander", to_status=IncidentStatus.RESOLVED
    )


async def _reports(sessions: Sessions, incident: Incident) -> list[ReviewReport]:
    return await read_all(
        sessions, select(ReviewReport).where(ReviewReport.incident_id == incident.id)
    )


async def test_resolving_an_incident_drafts_its_review_in_the_same_transaction(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back), Tier.ORANGE)
    await force(rolled_back, incident, status=IncidentStatus.RECOVERING)

    async with transaction(rolled_back) as session:
        outcome = await service.transition(at(NOW), session, _resolve(incident))

    assert outcome.result is not None and outcome.result.ok, outcome.result
    assert outcome.result.data["resolved_at"] == NOW.isoformat()
    [report] = await _reports(rolled_back, incident)
    assert report.status == "draft" and report.sections["computed_at"] == NOW.isoformat()
    assert [e.occurred_at for e in await timeline_of(rolled_back, incident, "review_drafted")] == [
        NOW
    ]


async def test_a_refused_resolution_drafts_no_review(rolled_back: Sessions) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))

    async with transaction(rolled_back) as session:
        outcome = await service.transition(at(NOW), session, _resolve(incident))

    assert outcome.result is not None and outcome.result.error is not None
    assert outcome.result.error.code == "InvalidTransition"
    assert await _reports(rolled_back, incident) == []


async def test_a_signal_is_stamped_by_the_context_clock(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back)
    signal = await make_signal(rolled_back, watchlist, Tier.YELLOW)

    async with transaction(rolled_back) as session:
        outcome = await service.apply_signal(at(NOW), session, signal)

    incident = await landed(rolled_back, signal)
    assert incident is not None and incident.created_at == NOW
    assert [m.occurred_at for m in integration_events(outcome.messages)] == [NOW]


async def test_contacts_are_refused_when_the_process_has_no_data_key(
    rolled_back: Sessions,
) -> None:
    incident = await open_incident(rolled_back, await make_watchlist(rolled_back))
    command = add_user_command(incident)

    async with transaction(rolled_back) as session:
        outcome = await service.add_affected_user(at(NOW, data_key=None), session, command)

    assert outcome.result is not None and outcome.result.error is not None
    assert (outcome.result.error.code, outcome.result.error.field) == ("Invalid", "contact")
    assert "CRISISWATCH_DATA_KEY is not set" in outcome.result.error.message
    async with rolled_back() as session:
        query = select(AffectedUser).where(AffectedUser.incident_id == incident.id)
        assert (await session.exec(query)).all() == []
