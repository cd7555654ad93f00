"""Backtests through GraphQL: the gateway asks, the real analysis worker replays, the console polls.

The crisis is the analysis tests' own (`stage_crisis`: a quiet history, then 40 complaints
with a media account among them), stored as ingest stores mentions; the recorded incident
is opened by a signal through the real incidents worker and closed as a false alarm by
mutation, so the comparison reads what a team really marked.
"""

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.tests.conftest import gid
from libs.contracts.enums import Role
from services.analysis.tests.builders import store_crisis
from tests.builders import Tenant
from tests.gateway.builders import System, open_incident, refusal

REQUEST = """
mutation($input: BacktestWatchlistInput!) {
  backtestWatchlist(input: $input) {
    __typename
    ... on Backtest { id status query }
    ... on Refusal { message }
    ... on InvalidInput { field }
  }
}
"""
READ = """
query($id: ID!) {
  backtest(id: $id) {
    status error query mentionsRead mentionsMatched
    tierChanges { at previous tier reasons topMentions { databaseId } }
    wouldOpen { openedAt peakTier endedAt incidents { databaseId } }
    recordedIncidents { falseAlarm raisedAgain incident { databaseId status } }
    falseAlarmsRaised falseAlarmsAvoided incidentsMissed newOpenings
  }
}
"""
FALSE_ALARM = """
mutation($id: ID!) {
  transitionIncident(id: $id, toStatus: FALSE_ALARM, reason: "竞品误伤，并非产品问题") {
    __typename ... on Incident { status }
  }
}
"""


async def request(system: System, owner: Tenant, fields: dict[str, Any]) -> dict[str, Any]:
    return await system.mutate(owner, Role.RESPONDER, REQUEST, {"input": fields})


async def finished(system: System, owner: Tenant, backtest_id: str) -> dict[str, Any]:
    """Poll the backtest as a console does until the worker has replayed it."""
    deadline = time.monotonic() + 90
    while True:
        body = await system.post(owner.auth(Role.VIEWER), READ, {"id": backtest_id})
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["backtest"]
        if found["status"] != "QUEUED":
            return found
        assert time.monotonic() < deadline, "the backtest was never replayed"
        await asyncio.sleep(0.3)


async def test_a_draft_rule_is_replayed_and_compared_with_a_recorded_false_alarm(
    system: System, acme: Tenant
) -> None:
    now = datetime.now(UTC)
    watchlist, _history, burst = await store_crisis(system.sessions, acme.org.id, now)
    incident = await open_incident(system, acme, watchlist.id)
    closed = await system.mutate(
        acme, Role.RESPONDER, FALSE_ALARM, {"id": gid("Incident", incident)}
    )
    assert closed == {"__typename": "Incident", "status": "FALSE_ALARM"}
    span = {
        "watchlistId": gid("Watchlist", watchlist.id),
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": (now + timedelta(minutes=5)).isoformat(),
    }

    own = await request(system, acme, span)
    narrower = await request(system, acme, {**span, "query": "禾岚 & 召回"})
    assert (own["__typename"], own["status"]) == ("Backtest", "QUEUED")
    assert narrower["query"] == "禾岚 & 召回"

    raised = await finished(system, acme, own["id"])
    assert raised["status"] == "DONE", raised
    assert raised["mentionsMatched"] == len(burst)
    assert raised["tierChanges"][-1]["tier"] == "RED"
    assert raised["tierChanges"][-1]["topMentions"], "the signal names the mentions behind it"
    assert {m["databaseId"] for m in raised["tierChanges"][-1]["topMentions"]} <= {
        str(i) for i in burst
    }
    [opening] = raised["wouldOpen"]
    assert opening["peakTier"] == "RED" and opening["endedAt"] is None
    assert opening["incidents"] == [{"databaseId": str(incident)}]
    assert raised["recordedIncidents"] == [
        {
            "falseAlarm": True,
            "raisedAgain": True,
            "incident": {"databaseId": str(incident), "status": "FALSE_ALARM"},
        }
    ]
    counts = ("falseAlarmsRaised", "falseAlarmsAvoided", "incidentsMissed", "newOpenings")
    assert [raised[c] for c in counts] == [1, 0, 0, 0]

    # No complaint says 召回 (a recall): the draft rule matches nothing and raises nothing.
    quiet = await finished(system, acme, narrower["id"])
    assert (quiet["status"], quiet["mentionsMatched"]) == ("DONE", 0)
    assert (quiet["tierChanges"], quiet["wouldOpen"]) == ([], [])
    assert [quiet[c] for c in counts] == [0, 1, 0, 0]


async def test_bad_requests_are_refused_naming_the_field(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    watchlist, _, _ = await store_crisis(system.sessions, acme.org.id, now)
    span = {
        "watchlistId": gid("Watchlist", watchlist.id),
        "since": (now - timedelta(hours=1)).isoformat(),
        "until": now.isoformat(),
    }
    bad_rule = await request(system, acme, {**span, "query": "(禾岚 | 奶粉"})
    assert bad_rule["__typename"] == "InvalidInput" and bad_rule["field"] == "query"
    assert "column" in bad_rule["message"]
    backwards = await request(system, acme, {**span, "until": span["since"]})
    assert backwards == refusal("InvalidInput", "until must be later than since", "until")
    too_long = await request(
        system, acme, {**span, "since": (now - timedelta(days=40)).isoformat()}
    )
    assert too_long == refusal("InvalidInput", "replay at most 31 days", "until")
    future = await request(
        system,
        acme,
        {**span, "since": (now + timedelta(hours=1)).isoformat(),
         "until": (now + timedelta(hours=2)).isoformat()},
    )  # fmt: skip
    assert future == refusal("InvalidInput", "since must be in the past", "since")

    theirs = await request(system, rival, span)
    assert theirs["__typename"] == "NotFound"
    reader = await system.mutate(acme, Role.VIEWER, REQUEST, {"input": span})
    assert reader["__typename"] == "Forbidden"


async def test_another_organization_cannot_read_a_backtest(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    watchlist, _, _ = await store_crisis(system.sessions, acme.org.id, now)
    mine = await request(
        system,
        acme,
        {
            "watchlistId": gid("Watchlist", watchlist.id),
            "since": (now - timedelta(hours=1)).isoformat(),
            "until": now.isoformat(),
        },
    )
    body = await system.post(rival.auth(Role.ADMIN), READ, {"id": mine["id"]})
    assert body["data"]["backtest"] is None
    listed = await system.post(
        rival.auth(Role.ADMIN), "{ backtests(first: 10) { edges { node { id } } } }"
    )
    assert listed["data"]["backtests"]["edges"] == []
    assert uuid.UUID(str(await finished_id(system, acme, mine["id"])))


async def finished_id(system: System, owner: Tenant, backtest_id: str) -> str:
    done = await finished(system, owner, backtest_id)
    assert done["status"] == "DONE", done
    body = await system.post(
        owner.auth(Role.VIEWER), "query($id: ID!) { backtest(id: $id) { databaseId } }",
        {"id": backtest_id},
    )  # fmt: skip
    return str(body["data"]["backtest"]["databaseId"])
