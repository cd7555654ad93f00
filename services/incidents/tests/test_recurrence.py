"""Recurrence: a new incident resembling a past one links it and reopens its lessons."""

from datetime import datetime, timedelta

from sqlmodel import select

from libs.contracts.enums import CrisisType, IncidentStatus, Tier
from libs.contracts.response import IntegrationEventEmitted
from libs.database.engine import transaction
from libs.database.tables import ImprovementAction, Incident, Watchlist
from services.incidents.repository import belonging_to
from services.incidents.signals.service import REOPEN_WINDOW
from services.incidents.tests.builders import (
    NOW,
    STORY,
    apply,
    force,
    landed,
    make_signal,
    make_watchlist,
    open_incident,
    reload,
    timeline_of,
)
from tests.builders import Sessions

S = IncidentStatus


async def _resolve(sessions: Sessions, incident: Incident, at: datetime) -> Incident:
    return await force(sessions, incident, status=S.RESOLVED, resolved_at=at)


async def _action(
    sessions: Sessions, incident: Incident, text: str, status: str
) -> ImprovementAction:
    async with transaction(sessions) as session:
        action = ImprovementAction(
            **belonging_to(incident),
            watchlist_id=incident.watchlist_id,
            action=text,
            owner="品控部",
            status=status,
        )
        session.add(action)
    return action


async def _actions(sessions: Sessions, watchlist: Watchlist) -> dict[str, ImprovementAction]:
    async with sessions() as session:
        result = await session.exec(
            select(ImprovementAction).where(ImprovementAction.watchlist_id == watchlist.id)
        )
        return {a.action: a for a in result.all()}


async def test_a_recurrence_links_the_past_incident_and_reopens_its_unfinished_actions(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    past = await open_incident(rolled_back, watchlist, crisis_type=CrisisType.PRODUCT_QUALITY)
    await force(rolled_back, past, status=S.CLOSED, resolved_at=NOW, closed_at=NOW)
    await _action(rolled_back, past, "完善批次抽检", "in_progress")
    await _action(rolled_back, past, "更新客服话术", "done")
    await _action(rolled_back, past, "建立召回预案", "open")
    later = NOW + timedelta(days=60)
    signal = await make_signal(
        rolled_back,
        watchlist,
        Tier.YELLOW,
        detected_at=later,
        crisis_type=CrisisType.PRODUCT_QUALITY,
    )

    outcome = await apply(rolled_back, signal, now=later)

    new = await landed(rolled_back, signal)
    assert new is not None and new.id != past.id
    assert new.recurrence_of_id == past.id
    actions = await _actions(rolled_back, watchlist)
    assert actions["完善批次抽检"].status == "open"
    assert actions["完善批次抽检"].reopened_by_incident_id == new.id
    assert actions["建立召回预案"].reopened_by_incident_id == new.id
    assert actions["更新客服话术"].status == "done"
    assert actions["更新客服话术"].reopened_by_incident_id is None
    [linked] = await timeline_of(rolled_back, new, "recurrence")
    assert linked.data["recurrence_of_id"] == str(past.id)
    assert linked.data["matched"] == ["crisis_type"]
    assert len(linked.data["reopened_actions"]) == 2
    assert "重新打开2项未完成的改进措施" in linked.message
    [opened] = outcome.messages
    assert isinstance(opened, IntegrationEventEmitted)
    assert opened.payload["recurrence_of_id"] == str(past.id)


async def test_recurrence_by_story_and_no_link_without_a_likeness(rolled_back: Sessions) -> None:
    milk = await make_watchlist(rolled_back)
    rice = await make_watchlist(rolled_back, milk.organization_id, "米粉")
    by_story = await open_incident(
        rolled_back, milk, story_id=STORY, crisis_type=CrisisType.MISINFORMATION
    )
    await _resolve(rolled_back, by_story, NOW - timedelta(days=10))
    other_list = await open_incident(rolled_back, rice, crisis_type=CrisisType.DATA_LEAK)
    await _resolve(rolled_back, other_list, NOW - timedelta(days=10))
    await open_incident(rolled_back, milk, crisis_type=CrisisType.DATA_LEAK, status=S.FALSE_ALARM)

    linked = await open_incident(
        rolled_back, milk, story_id=STORY, crisis_type=CrisisType.DATA_LEAK, detected_at=NOW
    )
    await _resolve(rolled_back, linked, NOW)
    unlinked = await open_incident(
        rolled_back,
        milk,
        crisis_type=CrisisType.CUSTOMER_SERVICE,
        detected_at=NOW + REOPEN_WINDOW * 2,
    )

    assert (await reload(rolled_back, linked)).recurrence_of_id == by_story.id
    [event] = await timeline_of(rolled_back, linked, "recurrence")
    assert event.data["matched"] == ["story"]
    assert (await reload(rolled_back, unlinked)).recurrence_of_id is None


async def test_actions_left_open_along_a_recurrence_chain_follow_the_newest_incident(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    kind = CrisisType.CUSTOMER_SERVICE
    first = await open_incident(rolled_back, watchlist, crisis_type=kind)
    await _resolve(rolled_back, first, NOW - timedelta(days=200))
    await _action(rolled_back, first, "客服培训", "open")
    second = await open_incident(
        rolled_back, watchlist, crisis_type=kind, detected_at=NOW - timedelta(days=100)
    )
    await _resolve(rolled_back, second, NOW - timedelta(days=99))
    third = await open_incident(rolled_back, watchlist, crisis_type=kind, detected_at=NOW)

    assert (await reload(rolled_back, second)).recurrence_of_id == first.id
    assert (await reload(rolled_back, third)).recurrence_of_id == second.id
    assert (await _actions(rolled_back, watchlist))["客服培训"].reopened_by_incident_id == third.id
