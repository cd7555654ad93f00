"""Own accounts and quiet periods end to end: mutations → the real incidents worker and its
quiet-period pass → reads through the gateway."""

import asyncio
import time
from typing import Any

from gateway.tests.conftest import gid
from libs.contracts.enums import Role, Tier
from tests.builders import Tenant
from tests.fixtures.servers import EMBEDDED_ONLY
from tests.gateway.builders import System, open_incident, watchlist

ADD = """
mutation($input: AddOwnAccountInput!) {
  addOwnAccount(input: $input) {
    __typename
    ... on OwnAccount { id platform handle owner active }
    ... on Refusal { message } ... on InvalidInput { field } ... on Conflict { field }
  }
}
"""
UPDATE = """
mutation($input: UpdateOwnAccountInput!) {
  updateOwnAccount(input: $input) {
    __typename ... on OwnAccount { handle owner active } ... on Refusal { message }
  }
}
"""
PERIODS = """
query($incident: ID!) {
  quietPeriods(first: 5, filter: {incidentId: $incident}) {
    edges { node {
      tier endedAt endedStatus incident { databaseId }
      accounts { platform handle owner account { handle } pauseTask { title status } }
    } }
  }
}
"""
CALL_OFF = """
mutation($id: ID!) {
  transitionIncident(id: $id, toStatus: FALSE_ALARM, reason: "竞品误伤，并非产品问题") {
    __typename
  }
}
"""


async def periods(system: System, owner: Tenant, incident: str) -> list[dict[str, Any]]:
    body = await system.post(owner.auth(Role.VIEWER), PERIODS, {"incident": incident})
    assert "errors" not in body, body
    found = [edge["node"] for edge in body["data"]["quietPeriods"]["edges"]]
    return found


async def until_period(
    system: System, owner: Tenant, incident: str, *, ended: bool
) -> dict[str, Any]:
    """Wait for the worker's pass (every 15 s) to start, or end, the incident's period."""
    deadline = time.monotonic() + 60
    while True:
        found = await periods(system, owner, incident)
        if found and (found[0]["endedAt"] is not None) == ended:
            return found[0]
        assert time.monotonic() < deadline, f"no quiet period {'ended' if ended else 'started'}"
        await asyncio.sleep(0.5)


@EMBEDDED_ONLY
async def test_an_orange_incident_pauses_the_registered_accounts_until_it_is_over(
    system: System, acme: Tenant
) -> None:
    added = await system.mutate(
        acme,
        Role.RESPONDER,
        ADD,
        {"input": {"platform": "WEIBO", "handle": "@禾岚乳业官方", "owner": "品牌部 王敏"}},
    )
    assert added == {
        "__typename": "OwnAccount",
        "id": added["id"],
        "platform": "WEIBO",
        "handle": "禾岚乳业官方",
        "owner": "品牌部 王敏",
        "active": True,
    }
    twice = await system.mutate(
        acme, Role.ADMIN, ADD, {"input": {"platform": "WEIBO", "handle": "禾岚乳业官方"}}
    )
    assert (twice["__typename"], twice["field"]) == ("Conflict", "handle")
    viewer = await system.mutate(
        acme, Role.VIEWER, ADD, {"input": {"platform": "DOUYIN", "handle": "禾岚"}}
    )
    assert viewer["__typename"] == "Forbidden"
    moved = await system.mutate(
        acme, Role.RESPONDER, UPDATE, {"input": {"id": added["id"], "owner": "品牌部 李雷"}}
    )
    assert moved == {"__typename": "OwnAccount", "handle": "禾岚乳业官方", "owner": "品牌部 李雷",
                     "active": True}  # fmt: skip

    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident = gid("Incident", await open_incident(system, acme, watched, Tier.ORANGE))
    running = await until_period(system, acme, incident, ended=False)
    assert running["tier"] == "ORANGE"
    assert running["accounts"] == [
        {
            "platform": "WEIBO",
            "handle": "禾岚乳业官方",
            "owner": "品牌部 李雷",
            "account": {"handle": "禾岚乳业官方"},
            "pauseTask": {
                "title": "暂停微博 @禾岚乳业官方的定时发布与营销内容（负责人：品牌部 李雷）",
                "status": "OPEN",
            },
        }
    ]

    recovered = await system.mutate(acme, Role.RESPONDER, CALL_OFF, {"id": incident})
    assert recovered["__typename"] == "Incident"
    ended = await until_period(system, acme, incident, ended=True)
    assert ended["endedStatus"] == "FALSE_ALARM"


async def test_another_organization_sees_no_account_and_no_period(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    added = await system.mutate(
        acme, Role.ADMIN, ADD, {"input": {"platform": "XIAOHONGSHU", "handle": "禾岚妈妈社区"}}
    )
    theirs = await system.mutate(
        rival, Role.ADMIN, UPDATE, {"input": {"id": added["id"], "active": False}}
    )
    assert theirs["__typename"] == "NotFound"
    listed = await system.post(
        rival.auth(Role.ADMIN), "{ ownAccounts(first: 10) { edges { node { handle } } } }"
    )
    assert listed["data"]["ownAccounts"]["edges"] == []
    mine = await system.post(
        acme.auth(Role.VIEWER), "{ ownAccounts(first: 10) { edges { node { handle active } } } }"
    )
    assert mine["data"]["ownAccounts"]["edges"] == [
        {"node": {"handle": "禾岚妈妈社区", "active": True}}
    ]
