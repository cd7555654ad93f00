"""Grouping signals into incidents: by watchlist, merge and story; snoozes; reopening."""

from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest

from libs.contracts.enums import CrisisType, EventType, IncidentStatus, Tier
from libs.contracts.messages import CommandResult, Message
from libs.contracts.response import (
    IntegrationEventEmitted,
    SnoozeWatchlist,
    TransitionIncident,
)
from libs.database.tables import Incident, Watchlist
from services.incidents import events
from services.incidents.lifecycle import service as lifecycle
from services.incidents.signals import repository, snooze
from services.incidents.signals.service import REOPEN_WINDOW
from services.incidents.tests.builders import (
    DETECTED_AT,
    NOW,
    STORY,
    apply,
    command_about,
    events_of,
    force,
    incidents_of,
    landed,
    make_org,
    make_signal,
    make_watchlist,
    open_incident,
    reload,
    run,
    timeline_of,
)
from tests.builders import Sessions

S = IncidentStatus


def _types(messages: Sequence[Message]) -> list[EventType]:
    """Return the types of the integration events among `messages`, in order."""
    return [m.type for m in messages if isinstance(m, IntegrationEventEmitted)]


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


async def _resolve(sessions: Sessions, incident: Incident, at: datetime) -> Incident:
    return await force(sessions, incident, status=S.RESOLVED, resolved_at=at)


async def test_opening_stores_story_and_type_and_emits_incident_opened(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    signal = await make_signal(
        rolled_back, watchlist, Tier.ORANGE, story_id=STORY, crisis_type=CrisisType.PRODUCT_QUALITY
    )

    outcome = await apply(rolled_back, signal, now=NOW)

    incident = await landed(rolled_back, signal)
    assert incident is not None and incident.status == S.DETECTED
    assert [i.id for i in await incidents_of(rolled_back, watchlist)] == [incident.id]
    assert (incident.story_id, incident.crisis_type) == (STORY, "product_quality")
    assert incident.created_at == NOW and incident.detected_at == DETECTED_AT
    [message] = outcome.messages
    assert isinstance(message, IntegrationEventEmitted)
    assert message.type is EventType.INCIDENT_OPENED
    assert message.event_id == events.event_id(EventType.INCIDENT_OPENED, str(incident.id))
    assert message.payload["story_id"] == str(STORY)
    assert message.payload["tier"] == "orange" and message.payload["recurrence_of_id"] is None
    [row] = await events_of(rolled_back, incident)
    assert (row.id, row.type, row.occurred_at) == (message.event_id, "incident.opened", NOW)


async def test_joining_emits_nothing_and_raising_emits_tier_changed(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    yellow = await make_signal(rolled_back, watchlist, Tier.YELLOW)
    red = await make_signal(rolled_back, watchlist, Tier.RED)

    joined = await apply(rolled_back, yellow, now=NOW)
    raised = await apply(rolled_back, red, now=NOW)

    assert joined.messages == ()
    raised_in = await landed(rolled_back, red)
    assert raised_in is not None and raised_in.id == incident.id
    timeline = await timeline_of(rolled_back, incident)
    assert [e.kind for e in timeline] == ["opened", "signal", "tier_changed"]
    assert timeline[1].data["signal_id"] == str(yellow.signal_id)
    [message] = raised.messages
    assert isinstance(message, IntegrationEventEmitted)
    assert message.type is EventType.INCIDENT_TIER_CHANGED
    assert (message.payload["from"], message.payload["to"]) == ("yellow", "red")
    assert message.event_id == events.event_id(EventType.INCIDENT_TIER_CHANGED, str(timeline[2].id))


async def test_a_signal_of_another_watchlist_joins_the_incident_of_its_story(
    rolled_back: Sessions,
) -> None:
    milk = await make_watchlist(rolled_back)
    rice = await make_watchlist(rolled_back, milk.organization_id, "米粉")
    incident = await open_incident(rolled_back, milk, Tier.YELLOW, story_id=STORY)

    story_signal = await make_signal(rolled_back, rice, Tier.ORANGE, story_id=STORY)
    outcome = await apply(rolled_back, story_signal, now=NOW)

    assert _types(outcome.messages) == [EventType.INCIDENT_TIER_CHANGED]
    assert await incidents_of(rolled_back, rice) == []
    stored = await reload(rolled_back, incident)
    assert (stored.tier, stored.last_signal_id) == ("orange", story_signal.signal_id)
    assert stored.title == "「奶粉」中度舆情危机"

    unrelated = await make_signal(rolled_back, rice, Tier.YELLOW)
    outcome = await apply(rolled_back, unrelated, now=NOW)
    assert _types(outcome.messages) == [EventType.INCIDENT_OPENED]
    opened = await landed(rolled_back, unrelated)
    assert opened is not None and opened.id != incident.id and opened.watchlist_id == rice.id


async def test_a_story_of_another_organization_is_not_joined(rolled_back: Sessions) -> None:
    ours = await make_watchlist(rolled_back)
    theirs = await make_watchlist(rolled_back)
    await open_incident(rolled_back, theirs, story_id=STORY)
    signal = await make_signal(rolled_back, ours, Tier.YELLOW, story_id=STORY)

    outcome = await apply(rolled_back, signal, now=NOW)

    assert _types(outcome.messages) == [EventType.INCIDENT_OPENED]
    opened = await landed(rolled_back, signal)
    assert opened is not None and opened.watchlist_id == ours.id


async def test_an_incident_learns_its_story_from_a_later_signal(rolled_back: Sessions) -> None:
    milk = await make_watchlist(rolled_back)
    rice = await make_watchlist(rolled_back, milk.organization_id, "米粉")
    incident = await open_incident(rolled_back, milk)
    await apply(
        rolled_back,
        await make_signal(
            rolled_back, milk, Tier.YELLOW, story_id=STORY, crisis_type=CrisisType.DATA_LEAK
        ),
        now=NOW,
    )
    stored = await reload(rolled_back, incident)
    assert (stored.story_id, stored.crisis_type) == (STORY, "data_leak")

    later = await make_signal(rolled_back, rice, Tier.YELLOW, story_id=STORY)
    await apply(rolled_back, later, now=NOW)
    joined = await landed(rolled_back, later)
    assert joined is not None and joined.id == incident.id


async def test_signals_of_a_merged_incidents_watchlist_join_the_merge_target(
    rolled_back: Sessions,
) -> None:
    milk = await make_watchlist(rolled_back)
    rice = await make_watchlist(rolled_back, milk.organization_id, "米粉")
    target = await open_incident(rolled_back, milk)
    source = await open_incident(rolled_back, rice)
    merge = command_about(
        TransitionIncident,
        source,
        "key-a",
        to_status=S.MERGED,
        reason="同一事件",
        merge_into_id=target.id,
    )
    merged, _ = await run(rolled_back, lifecycle.transition, merge, now=NOW)
    assert merged.ok

    signal = await make_signal(rolled_back, rice, Tier.YELLOW)
    outcome = await apply(rolled_back, signal, now=NOW)

    assert outcome.messages == ()
    joined = await landed(rolled_back, signal)
    assert joined is not None and joined.id == target.id
    assert [e.kind for e in await timeline_of(rolled_back, target)][-1] == "signal"
    assert len(await incidents_of(rolled_back, rice)) == 1


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
    rolled_back: Sessions,
    until: datetime,
    reason: str,
    field: str,
    text: str,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    result, _ = await run(
        rolled_back, snooze.snooze_watchlist, _snooze(watchlist, until, reason), now=NOW
    )
    assert result.error is not None
    assert text in result.error.message
    await _refused_and_not_snoozed(rolled_back, result, ("Invalid", field), watchlist)


async def test_snoozing_another_organizations_watchlist_is_not_found(
    rolled_back: Sessions,
) -> None:
    theirs = await make_watchlist(rolled_back)
    ours = await make_org(rolled_back)
    command = _snooze(theirs, NOW + timedelta(days=1)).model_copy(update={"organization_id": ours})
    result, _ = await run(rolled_back, snooze.snooze_watchlist, command, now=NOW)
    await _refused_and_not_snoozed(rolled_back, result, ("NotFound", "watchlistId"), theirs)


async def test_a_snoozed_watchlist_opens_no_incident_until_the_snooze_expires(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    until = NOW + timedelta(days=30)
    result, _ = await run(rolled_back, snooze.snooze_watchlist, _snooze(watchlist, until), now=NOW)
    assert result.ok and result.data["silenced_until"] == until.isoformat()

    last_second = until - timedelta(seconds=1)
    during = await make_signal(rolled_back, watchlist, Tier.RED, detected_at=last_second)
    silenced = await apply(rolled_back, during, now=until + timedelta(hours=1))
    assert silenced.messages == ()
    assert await landed(rolled_back, during) is None
    assert await incidents_of(rolled_back, watchlist) == []

    # Expired at `until` itself; a signal handled late is judged by when it was detected.
    after = await make_signal(rolled_back, watchlist, Tier.YELLOW, detected_at=until)
    opened = await apply(rolled_back, after, now=until)
    assert _types(opened.messages) == [EventType.INCIDENT_OPENED]
    assert [i.last_signal_id for i in await incidents_of(rolled_back, watchlist)] == [
        after.signal_id
    ]


async def test_snoozes_add_up_to_the_latest_expiry(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back)
    long, short = NOW + timedelta(days=3), NOW + timedelta(hours=1)
    await run(rolled_back, snooze.snooze_watchlist, _snooze(watchlist, long), now=NOW)
    result, _ = await run(rolled_back, snooze.snooze_watchlist, _snooze(watchlist, short), now=NOW)
    assert result.data["until"] == short.isoformat()
    assert result.data["silenced_until"] == long.isoformat()


async def test_signals_of_a_snoozed_watchlist_still_join_its_open_incident(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await open_incident(rolled_back, watchlist, Tier.YELLOW)
    await run(
        rolled_back,
        snooze.snooze_watchlist,
        _snooze(watchlist, NOW + timedelta(days=1)),
        now=NOW,
    )
    signal = await make_signal(rolled_back, watchlist, Tier.ORANGE)

    outcome = await apply(rolled_back, signal, now=NOW)

    assert _types(outcome.messages) == [EventType.INCIDENT_TIER_CHANGED]
    raised = await landed(rolled_back, signal)
    assert raised is not None and raised.id == incident.id and raised.tier == Tier.ORANGE


async def test_a_flare_up_within_the_window_reopens_the_resolved_incident(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await _resolve(rolled_back, await open_incident(rolled_back, watchlist), NOW)
    flare_at = NOW + REOPEN_WINDOW
    signal = await make_signal(
        rolled_back, watchlist, Tier.ORANGE, reasons=["二次发酵"], detected_at=flare_at
    )

    outcome = await apply(rolled_back, signal, now=flare_at)

    assert len(await incidents_of(rolled_back, watchlist)) == 1
    stored = await reload(rolled_back, incident)
    assert (stored.status, stored.reopened_count, stored.resolved_at) == ("responding", 1, None)
    assert (stored.tier, stored.last_signal_id) == ("orange", signal.signal_id)
    timeline = await timeline_of(rolled_back, incident)
    [reopened] = [e for e in timeline if e.kind == "status_changed"]
    assert (reopened.data["from"], reopened.data["to"]) == ("resolved", "responding")
    assert reopened.data["signal_id"] == str(signal.signal_id)
    assert reopened.data["reopened_count"] == 1 and reopened.actor == "system"
    assert "重新打开" in reopened.message
    assert _types(outcome.messages) == [
        EventType.INCIDENT_STATUS_CHANGED,
        EventType.INCIDENT_TIER_CHANGED,
    ]
    stored_types = sorted(e.type for e in await events_of(rolled_back, incident))
    assert stored_types == ["incident.opened", "incident.status_changed", "incident.tier_changed"]


async def test_a_flare_up_after_the_window_opens_a_new_incident(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back)
    old = await _resolve(rolled_back, await open_incident(rolled_back, watchlist), NOW)
    late = NOW + REOPEN_WINDOW + timedelta(seconds=1)
    signal = await make_signal(rolled_back, watchlist, Tier.YELLOW, detected_at=late)

    outcome = await apply(rolled_back, signal, now=late)

    assert _types(outcome.messages) == [EventType.INCIDENT_OPENED]
    opened = await landed(rolled_back, signal)
    assert opened is not None and opened.id != old.id
    stored = await reload(rolled_back, old)
    assert (stored.status, stored.reopened_count) == (S.RESOLVED, 0)


async def test_a_closed_incident_is_never_reopened_by_a_signal(rolled_back: Sessions) -> None:
    watchlist = await make_watchlist(rolled_back)
    old = await open_incident(
        rolled_back, watchlist, status=S.CLOSED, resolved_at=NOW, closed_at=NOW
    )
    signal = await make_signal(rolled_back, watchlist, Tier.YELLOW)

    outcome = await apply(rolled_back, signal, now=NOW)

    assert _types(outcome.messages) == [EventType.INCIDENT_OPENED]
    opened = await landed(rolled_back, signal)
    assert opened is not None and opened.id != old.id
    assert (await reload(rolled_back, old)).status == S.CLOSED


async def test_a_snooze_also_stops_reopening_and_blue_never_reopens(
    rolled_back: Sessions,
) -> None:
    watchlist = await make_watchlist(rolled_back)
    incident = await _resolve(rolled_back, await open_incident(rolled_back, watchlist), NOW)
    blue = await make_signal(rolled_back, watchlist, Tier.BLUE)

    ignored = await apply(rolled_back, blue, now=NOW)
    await run(
        rolled_back,
        snooze.snooze_watchlist,
        _snooze(watchlist, NOW + timedelta(days=1)),
        now=NOW,
    )
    red = await make_signal(rolled_back, watchlist, Tier.RED, detected_at=NOW + timedelta(hours=2))
    snoozed = await apply(rolled_back, red, now=NOW)

    assert (ignored.messages, snoozed.messages) == ((), ())
    assert (await landed(rolled_back, blue), await landed(rolled_back, red)) == (None, None)
    assert (await reload(rolled_back, incident)).status == S.RESOLVED
    assert len(await incidents_of(rolled_back, watchlist)) == 1


async def _refused_and_not_snoozed(
    sessions: Sessions, result: CommandResult, error: tuple[str, str], watchlist: Watchlist
) -> None:
    """Assert the snooze was refused with `error` (code, field) and left the watchlist live."""
    assert result.error is not None
    assert (result.error.code, result.error.field) == error
    async with sessions() as session:
        assert await repository.silenced_until(session, watchlist.id, NOW) is None
