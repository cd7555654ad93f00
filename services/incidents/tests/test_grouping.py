"""Grouping signals into incidents: by watchlist and story, snoozes, reopening, recurrence."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import CrisisType, EventType, IncidentStatus, Tier
from libs.contracts.response import (
    IntegrationEventEmitted,
    SnoozeWatchlist,
    TransitionIncident,
)
from libs.database.engine import transaction
from libs.database.tables import ImprovementAction, Incident, Watchlist
from services.incidents import events, snooze
from services.incidents.lifecycle import service as lifecycle
from services.incidents.service import REOPEN_WINDOW, SignalAction
from services.incidents.tests.builders import (
    DETECTED_AT,
    apply,
    events_of,
    force,
    incidents_of,
    make_signal,
    make_watchlist,
    open_incident,
    reload,
    run,
    timeline_of,
)
from tests.builders import make_tenant

S = IncidentStatus
NOW = DETECTED_AT + timedelta(hours=1)
STORY = uuid.UUID("0b7a1f0e-52d4-4c1a-9a55-2f1b8d3c6e71")


async def _watchlist(
    sessions: async_sessionmaker[AsyncSession], slug: str = "acme", name: str = "奶粉"
) -> Watchlist:
    tenant = await make_tenant(sessions, slug)
    return await make_watchlist(sessions, tenant.org.id, name)


def _snooze(
    watchlist: Watchlist, until: datetime, reason: str = "新品发布会期间声量正常偏高"
) -> SnoozeWatchlist:
    return SnoozeWatchlist(
        organization_id=watchlist.organization_id,
        actor="key-admin",
        watchlist_id=watchlist.id,
        until=until,
        reason=reason,
    )


async def _resolve(
    sessions: async_sessionmaker[AsyncSession], incident: Incident, at: datetime
) -> Incident:
    return await force(sessions, incident, status=S.RESOLVED, resolved_at=at)


async def test_opening_stores_story_and_type_and_emits_incident_opened(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    signal = await make_signal(
        sessions, watchlist, Tier.ORANGE, story_id=STORY, crisis_type=CrisisType.PRODUCT_QUALITY
    )

    outcome = await apply(sessions, signal, now=NOW)

    assert outcome.action is SignalAction.OPENED and outcome.incident is not None
    incident = await reload(sessions, outcome.incident)
    assert (incident.story_id, incident.crisis_type) == (STORY, "product_quality")
    assert incident.created_at == NOW and incident.detected_at == DETECTED_AT
    [message] = outcome.messages
    assert isinstance(message, IntegrationEventEmitted)
    assert message.type is EventType.INCIDENT_OPENED
    assert message.event_id == events.event_id(EventType.INCIDENT_OPENED, str(incident.id))
    assert message.payload["story_id"] == str(STORY)
    assert message.payload["tier"] == "orange" and message.payload["recurrence_of_id"] is None
    [row] = await events_of(sessions, incident)
    assert (row.id, row.type, row.occurred_at) == (message.event_id, "incident.opened", NOW)


async def test_joining_emits_nothing_and_raising_emits_tier_changed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    await open_incident(sessions, watchlist, Tier.YELLOW)

    joined = await apply(sessions, await make_signal(sessions, watchlist, Tier.YELLOW), now=NOW)
    raised = await apply(sessions, await make_signal(sessions, watchlist, Tier.RED), now=NOW)

    assert joined.action is SignalAction.JOINED and joined.messages == []
    assert raised.action is SignalAction.RAISED
    [message] = raised.messages
    assert isinstance(message, IntegrationEventEmitted)
    assert message.type is EventType.INCIDENT_TIER_CHANGED
    assert (message.payload["from"], message.payload["to"]) == ("yellow", "red")
    assert raised.incident is not None
    [changed] = [
        e for e in await timeline_of(sessions, raised.incident) if e.kind == "tier_changed"
    ]
    assert message.event_id == events.event_id(EventType.INCIDENT_TIER_CHANGED, str(changed.id))


async def test_a_signal_of_another_watchlist_joins_the_incident_of_its_story(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    milk = await _watchlist(sessions)
    rice = await make_watchlist(sessions, milk.organization_id, "米粉")
    incident = await open_incident(sessions, milk, Tier.YELLOW, story_id=STORY)

    story_signal = await make_signal(sessions, rice, Tier.ORANGE, story_id=STORY)
    outcome = await apply(sessions, story_signal, now=NOW)

    assert outcome.action is SignalAction.RAISED
    assert outcome.incident is not None and outcome.incident.id == incident.id
    assert await incidents_of(sessions, rice) == []
    stored = await reload(sessions, incident)
    assert (stored.tier, stored.last_signal_id) == ("orange", story_signal.signal_id)
    assert stored.title == "「奶粉」中度舆情危机"

    unrelated = await apply(sessions, await make_signal(sessions, rice, Tier.YELLOW), now=NOW)
    assert unrelated.action is SignalAction.OPENED
    assert unrelated.incident is not None and unrelated.incident.id != incident.id


async def test_a_story_of_another_organization_is_not_joined(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ours = await _watchlist(sessions)
    theirs = await _watchlist(sessions, "rival")
    await open_incident(sessions, theirs, story_id=STORY)

    outcome = await apply(
        sessions, await make_signal(sessions, ours, Tier.YELLOW, story_id=STORY), now=NOW
    )

    assert outcome.action is SignalAction.OPENED
    assert outcome.incident is not None and outcome.incident.watchlist_id == ours.id


async def test_an_incident_learns_its_story_from_a_later_signal(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    milk = await _watchlist(sessions)
    rice = await make_watchlist(sessions, milk.organization_id, "米粉")
    incident = await open_incident(sessions, milk)
    await apply(
        sessions,
        await make_signal(
            sessions, milk, Tier.YELLOW, story_id=STORY, crisis_type=CrisisType.DATA_LEAK
        ),
        now=NOW,
    )
    stored = await reload(sessions, incident)
    assert (stored.story_id, stored.crisis_type) == (STORY, "data_leak")

    outcome = await apply(
        sessions, await make_signal(sessions, rice, Tier.YELLOW, story_id=STORY), now=NOW
    )
    assert outcome.incident is not None and outcome.incident.id == incident.id


async def test_signals_of_a_merged_incidents_watchlist_join_the_merge_target(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    milk = await _watchlist(sessions)
    rice = await make_watchlist(sessions, milk.organization_id, "米粉")
    target = await open_incident(sessions, milk)
    source = await open_incident(sessions, rice)
    merged, _ = await run(
        sessions,
        lifecycle.transition,
        TransitionIncident(
            organization_id=milk.organization_id,
            actor="key-a",
            incident_id=source.id,
            to_status=S.MERGED,
            reason="同一事件",
            merge_into_id=target.id,
        ),
        now=NOW,
    )
    assert merged.ok

    outcome = await apply(sessions, await make_signal(sessions, rice, Tier.YELLOW), now=NOW)

    assert outcome.action is SignalAction.JOINED
    assert outcome.incident is not None and outcome.incident.id == target.id
    assert len(await incidents_of(sessions, rice)) == 1


@pytest.mark.parametrize(
    ("until", "reason", "field", "text"),
    [
        (NOW, "发布会", "until", "until must be in the future"),
        (NOW - timedelta(minutes=1), "发布会", "until", "until must be in the future"),
        (NOW + timedelta(days=30, seconds=1), "发布会", "until", "at most 30 days ahead"),
        (NOW + timedelta(hours=2), "   ", "reason", "a reason is required"),
    ],
)
async def test_snooze_validation(
    sessions: async_sessionmaker[AsyncSession],
    until: datetime,
    reason: str,
    field: str,
    text: str,
) -> None:
    watchlist = await _watchlist(sessions)
    result, _ = await run(
        sessions, snooze.snooze_watchlist, _snooze(watchlist, until, reason), now=NOW
    )
    assert result.error is not None
    assert (result.error.code, result.error.field) == ("Invalid", field)
    assert text in result.error.message
    async with sessions() as session:
        assert await snooze.silenced_until(session, watchlist.id, NOW) is None


async def test_snoozing_another_organizations_watchlist_is_not_found(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    theirs = await _watchlist(sessions, "rival")
    ours = await make_tenant(sessions, "acme")
    command = _snooze(theirs, NOW + timedelta(days=1)).model_copy(
        update={"organization_id": ours.org.id}
    )
    result, _ = await run(sessions, snooze.snooze_watchlist, command, now=NOW)
    assert result.error is not None
    assert (result.error.code, result.error.field) == ("NotFound", "watchlistId")


async def test_a_snoozed_watchlist_opens_no_incident_until_the_snooze_expires(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    until = NOW + timedelta(days=30)
    result, _ = await run(sessions, snooze.snooze_watchlist, _snooze(watchlist, until), now=NOW)
    assert result.ok and result.data["silenced_until"] == until.isoformat()

    last_second = until - timedelta(seconds=1)
    during = await make_signal(sessions, watchlist, Tier.RED, detected_at=last_second)
    silenced = await apply(sessions, during, now=until + timedelta(hours=1))
    assert silenced.action is SignalAction.SNOOZED and silenced.messages == []
    assert silenced.incident is None
    assert await incidents_of(sessions, watchlist) == []

    # Expired at `until` itself; a signal handled late is judged by when it was detected.
    after = await make_signal(sessions, watchlist, Tier.YELLOW, detected_at=until)
    opened = await apply(sessions, after, now=until)
    assert opened.action is SignalAction.OPENED


async def test_snoozes_add_up_to_the_latest_expiry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    long, short = NOW + timedelta(days=3), NOW + timedelta(hours=1)
    await run(sessions, snooze.snooze_watchlist, _snooze(watchlist, long), now=NOW)
    result, _ = await run(sessions, snooze.snooze_watchlist, _snooze(watchlist, short), now=NOW)
    assert result.data["until"] == short.isoformat()
    assert result.data["silenced_until"] == long.isoformat()


async def test_signals_of_a_snoozed_watchlist_still_join_its_open_incident(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    incident = await open_incident(sessions, watchlist, Tier.YELLOW)
    await run(
        sessions, snooze.snooze_watchlist, _snooze(watchlist, NOW + timedelta(days=1)), now=NOW
    )

    outcome = await apply(sessions, await make_signal(sessions, watchlist, Tier.ORANGE), now=NOW)

    assert outcome.action is SignalAction.RAISED
    assert outcome.incident is not None and outcome.incident.id == incident.id


async def test_a_flare_up_within_the_window_reopens_the_resolved_incident(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    incident = await _resolve(sessions, await open_incident(sessions, watchlist), NOW)
    flare_at = NOW + REOPEN_WINDOW
    signal = await make_signal(
        sessions, watchlist, Tier.ORANGE, reasons=["二次发酵"], detected_at=flare_at
    )

    outcome = await apply(sessions, signal, now=flare_at)

    assert outcome.action is SignalAction.REOPENED
    assert outcome.incident is not None and outcome.incident.id == incident.id
    assert len(await incidents_of(sessions, watchlist)) == 1
    stored = await reload(sessions, incident)
    assert (stored.status, stored.reopened_count, stored.resolved_at) == ("responding", 1, None)
    assert (stored.tier, stored.last_signal_id) == ("orange", signal.signal_id)
    timeline = await timeline_of(sessions, incident)
    [reopened] = [e for e in timeline if e.kind == "status_changed"]
    assert (reopened.data["from"], reopened.data["to"]) == ("resolved", "responding")
    assert reopened.data["signal_id"] == str(signal.signal_id)
    assert reopened.data["reopened_count"] == 1 and reopened.actor == "system"
    assert "重新打开" in reopened.message
    assert [m.type for m in outcome.messages if isinstance(m, IntegrationEventEmitted)] == [
        EventType.INCIDENT_STATUS_CHANGED,
        EventType.INCIDENT_TIER_CHANGED,
    ]
    stored_types = sorted(e.type for e in await events_of(sessions, incident))
    assert stored_types == ["incident.opened", "incident.status_changed", "incident.tier_changed"]


async def test_a_flare_up_after_the_window_opens_a_new_incident(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    old = await _resolve(sessions, await open_incident(sessions, watchlist), NOW)
    late = NOW + REOPEN_WINDOW + timedelta(seconds=1)

    outcome = await apply(
        sessions, await make_signal(sessions, watchlist, Tier.YELLOW, detected_at=late), now=late
    )

    assert outcome.action is SignalAction.OPENED
    assert outcome.incident is not None and outcome.incident.id != old.id
    assert (await reload(sessions, old)).status == S.RESOLVED
    assert (await reload(sessions, old)).reopened_count == 0


async def test_a_closed_incident_is_never_reopened_by_a_signal(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    old = await open_incident(sessions, watchlist)
    await force(sessions, old, status=S.CLOSED, resolved_at=NOW, closed_at=NOW)

    outcome = await apply(sessions, await make_signal(sessions, watchlist, Tier.YELLOW), now=NOW)

    assert outcome.action is SignalAction.OPENED


async def test_a_snooze_also_stops_reopening_and_blue_never_reopens(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    incident = await _resolve(sessions, await open_incident(sessions, watchlist), NOW)

    blue = await apply(sessions, await make_signal(sessions, watchlist, Tier.BLUE), now=NOW)
    await run(
        sessions, snooze.snooze_watchlist, _snooze(watchlist, NOW + timedelta(days=1)), now=NOW
    )
    snoozed = await apply(
        sessions,
        await make_signal(sessions, watchlist, Tier.RED, detected_at=NOW + timedelta(hours=2)),
        now=NOW,
    )

    assert (blue.action, snoozed.action) == (SignalAction.IGNORED, SignalAction.SNOOZED)
    assert (await reload(sessions, incident)).status == S.RESOLVED


async def _action(
    sessions: async_sessionmaker[AsyncSession], incident: Incident, text: str, status: str
) -> ImprovementAction:
    async with transaction(sessions) as session:
        action = ImprovementAction(
            organization_id=incident.organization_id,
            incident_id=incident.id,
            watchlist_id=incident.watchlist_id,
            action=text,
            owner="品控部",
            status=status,
        )
        session.add(action)
    return action


async def _actions(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[str, ImprovementAction]:
    async with sessions() as session:
        result = await session.exec(select(ImprovementAction))
        return {a.action: a for a in result.all()}


async def test_a_recurrence_links_the_past_incident_and_reopens_its_unfinished_actions(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    past = await open_incident(sessions, watchlist, crisis_type=CrisisType.PRODUCT_QUALITY)
    await force(sessions, past, status=S.CLOSED, resolved_at=NOW, closed_at=NOW)
    await _action(sessions, past, "完善批次抽检", "in_progress")
    await _action(sessions, past, "更新客服话术", "done")
    await _action(sessions, past, "建立召回预案", "open")
    later = NOW + timedelta(days=60)

    outcome = await apply(
        sessions,
        await make_signal(
            sessions,
            watchlist,
            Tier.YELLOW,
            detected_at=later,
            crisis_type=CrisisType.PRODUCT_QUALITY,
        ),
        now=later,
    )

    assert outcome.incident is not None
    new = await reload(sessions, outcome.incident)
    assert new.recurrence_of_id == past.id
    actions = await _actions(sessions)
    assert actions["完善批次抽检"].status == "open"
    assert actions["完善批次抽检"].reopened_by_incident_id == new.id
    assert actions["建立召回预案"].reopened_by_incident_id == new.id
    assert actions["更新客服话术"].status == "done"
    assert actions["更新客服话术"].reopened_by_incident_id is None
    [linked] = [e for e in await timeline_of(sessions, new) if e.kind == "recurrence"]
    assert linked.data["recurrence_of_id"] == str(past.id)
    assert linked.data["matched"] == ["crisis_type"]
    assert len(linked.data["reopened_actions"]) == 2
    assert "重新打开2项未完成的改进措施" in linked.message
    [opened] = outcome.messages
    assert isinstance(opened, IntegrationEventEmitted)
    assert opened.payload["recurrence_of_id"] == str(past.id)


async def test_recurrence_by_story_and_no_link_without_a_likeness(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    milk = await _watchlist(sessions)
    rice = await make_watchlist(sessions, milk.organization_id, "米粉")
    by_story = await open_incident(
        sessions, milk, story_id=STORY, crisis_type=CrisisType.MISINFORMATION
    )
    await _resolve(sessions, by_story, NOW - timedelta(days=10))
    other_list = await open_incident(sessions, rice, crisis_type=CrisisType.DATA_LEAK)
    await _resolve(sessions, other_list, NOW - timedelta(days=10))
    dismissed = await open_incident(sessions, milk, crisis_type=CrisisType.DATA_LEAK)
    await force(sessions, dismissed, status=S.FALSE_ALARM)

    linked = await open_incident(
        sessions, milk, story_id=STORY, crisis_type=CrisisType.DATA_LEAK, detected_at=NOW
    )
    await _resolve(sessions, linked, NOW)
    unlinked = await open_incident(
        sessions,
        milk,
        crisis_type=CrisisType.CUSTOMER_SERVICE,
        detected_at=NOW + REOPEN_WINDOW * 2,
    )

    assert (await reload(sessions, linked)).recurrence_of_id == by_story.id
    [event] = [e for e in await timeline_of(sessions, linked) if e.kind == "recurrence"]
    assert event.data["matched"] == ["story"]
    assert (await reload(sessions, unlinked)).recurrence_of_id is None


async def test_actions_left_open_along_a_recurrence_chain_follow_the_newest_incident(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    watchlist = await _watchlist(sessions)
    kind = CrisisType.CUSTOMER_SERVICE
    first = await open_incident(sessions, watchlist, crisis_type=kind)
    await _resolve(sessions, first, NOW - timedelta(days=200))
    await _action(sessions, first, "客服培训", "open")
    second = await open_incident(
        sessions, watchlist, crisis_type=kind, detected_at=NOW - timedelta(days=100)
    )
    await _resolve(sessions, second, NOW - timedelta(days=99))
    third = await open_incident(sessions, watchlist, crisis_type=kind, detected_at=NOW)

    assert (await reload(sessions, second)).recurrence_of_id == first.id
    assert (await reload(sessions, third)).recurrence_of_id == second.id
    assert (await _actions(sessions))["客服培训"].reopened_by_incident_id == third.id
