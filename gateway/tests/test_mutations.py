"""Watchlist, lexicon and acknowledge mutations the gateway answers without a service.

What the analysis and incidents services do with each command is checked against the real
workers in `tests/gateway`; here no worker runs, so every answer is the gateway's own:
refusals of input, of keys and of ids, and a command nobody answers.
"""

import uuid

from arq.connections import ArqRedis

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid, queued_for, serve
from gateway.tests.war_room_ops import ACKNOWLEDGE, CREATE_WATCHLIST, SET_TERMS, UPDATE_WATCHLIST
from libs.contracts.enums import Role
from libs.contracts.messages import ANALYSIS_QUEUE, INCIDENTS_QUEUE, CreateWatchlist
from libs.database.engine import transaction
from libs.settings import Settings
from tests.builders import Sessions, Tenant


async def test_input_the_command_contract_rejects_is_refused_without_sending(
    gql: GraphQL, redis: ArqRedis, acme: Tenant
) -> None:
    admin = acme.auth(Role.ADMIN)
    blank_name = await gql(
        acme.auth(Role.RESPONDER), CREATE_WATCHLIST, {"input": {"name": "", "keywords": ["奶粉"]}}
    )
    heavy = await gql(
        admin,
        SET_TERMS,
        {"input": {"upsert": [{"term": "召回", "category": "SAFETY", "weight": 1.5}]}},
    )
    refused = blank_name["data"]["createWatchlist"]
    assert refused["__typename"] == "InvalidInput" and refused["field"] == "name"
    here = heavy["data"]["setSensitiveTerms"]
    assert here["__typename"] == "InvalidInput" and here["field"] == "upsert[0].weight"
    assert "less than or equal to 1" in here["message"]
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == []


async def test_viewer_keys_may_not_change_watchlists_the_lexicon_or_incidents(
    gql: GraphQL, redis: ArqRedis, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        opened = await builders.watched_incident(session, acme.org.id, detected_at=T0)
    viewer = acme.auth(Role.VIEWER)
    created = await gql(viewer, CREATE_WATCHLIST, {"input": {"name": "物流", "keywords": ["快递"]}})
    updated = await gql(
        viewer,
        UPDATE_WATCHLIST,
        {"input": {"id": gid("Watchlist", opened.watchlist_id), "query": "奶粉"}},
    )
    terms = await gql(viewer, SET_TERMS, {"input": {"remove": ["下架"]}})
    acknowledged = await gql(viewer, ACKNOWLEDGE, {"id": gid("Incident", opened.id)})
    forbidden = {
        "__typename": "Forbidden",
        "message": "A key with role `viewer` may read but not change data.",
    }
    assert created["data"]["createWatchlist"] == forbidden
    assert updated["data"]["updateWatchlist"] == forbidden
    assert terms["data"]["setSensitiveTerms"] == forbidden
    assert acknowledged["data"]["acknowledgeIncident"] == forbidden
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == []
    assert await queued_for(redis, INCIDENTS_QUEUE, acme) == []


async def test_another_organizations_ids_are_not_found_and_nothing_is_sent(
    gql: GraphQL, redis: ArqRedis, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        opened = await builders.watched_incident(session, acme.org.id, detected_at=T0)
    outsider = rival.auth(Role.ADMIN)
    acknowledged = await gql(outsider, ACKNOWLEDGE, {"id": gid("Incident", opened.id)})
    for global_id in (
        gid("Watchlist", opened.watchlist_id),
        gid("Watchlist", uuid.uuid4()),
        gid("Story", opened.watchlist_id),
    ):
        body = await gql(outsider, UPDATE_WATCHLIST, {"input": {"id": global_id, "name": "改名"}})
        assert body["data"]["updateWatchlist"] == {
            "__typename": "NotFound",
            "message": f"No watchlist with id {global_id}.",
        }
    assert acknowledged["data"]["acknowledgeIncident"]["__typename"] == "NotFound"
    assert await queued_for(redis, ANALYSIS_QUEUE, rival) == []
    assert await queued_for(redis, INCIDENTS_QUEUE, rival) == []


async def test_silent_service_surfaces_as_an_error_naming_it(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    impatient = settings.model_copy(update={"command_timeout_seconds": 0.3})
    async with serve(impatient) as http:
        response = await http.post(
            "/graphql",
            json={
                "query": CREATE_WATCHLIST,
                "variables": {"input": {"name": "超时", "keywords": ["x"]}},
            },
            headers=acme.auth(Role.RESPONDER),
        )
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "The analysis service did not answer within 0.3 s; the change may still be applied later."
    )
    assert body["errors"][0]["extensions"] == {"code": "UNAVAILABLE"}
    # The command stays queued for the service to apply when it is back.
    assert await queued_for(redis, ANALYSIS_QUEUE, acme) == [CreateWatchlist.job_name()]
