"""GraphQL subscriptions over a real WebSocket: who may subscribe, to what, and how often.

These need no worker: the gateway admits or refuses a connection or an operation on its
own. What subscribers receive from the real workers' commits is checked in
`tests/gateway/test_live_updates.py`.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.tests import builders
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.subscription_support import (
    INCIDENT_UPDATES,
    MENTIONS,
    SIGNALS,
    TIMEOUT,
    Gateway,
    Refused,
    bearer,
    live_client,
    serve_gateway,
)
from libs.contracts.enums import IncidentStatus, Role
from libs.database.engine import transaction
from libs.database.tables import Incident, Watchlist
from libs.messaging import live
from libs.settings import Settings
from tests.builders import Tenant


@pytest_asyncio.fixture
async def gateway(settings: Settings, redis: ArqRedis) -> AsyncIterator[Gateway]:
    """A gateway served over a real socket, on an emptied Redis."""
    async with serve_gateway(settings) as served:
        yield served


async def _store_watchlist(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, name: str = "奶粉质量"
) -> Watchlist:
    async with transaction(sessions) as session:
        return await builders.watchlist(session, tenant.org.id, name)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(None, id="no payload"),
        pytest.param({}, id="no key"),
        pytest.param(bearer("cw_" + "A" * 40), id="unknown key"),
        pytest.param({"authorization": "Basic dXNlcjpwYXNz"}, id="not a bearer key"),
    ],
)
async def test_a_connection_without_a_usable_key_is_closed_with_4403(
    gateway: Gateway, acme: Tenant, payload: dict[str, str] | None
) -> None:
    with pytest.raises(Refused) as refused:
        async with live_client(gateway.url, payload):
            pass
    assert refused.value.code == 4403


async def test_the_legacy_subscriptions_transport_ws_protocol_is_refused(
    gateway: Gateway,
) -> None:
    async with connect(gateway.url, subprotocols=[Subprotocol("graphql-ws")]) as socket_:
        with pytest.raises(ConnectionClosed) as closed:
            await socket_.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_an_ingest_key_cannot_subscribe(gateway: Gateway, acme: Tenant) -> None:
    with pytest.raises(Refused) as refused:
        async with live_client(gateway.url, bearer(acme.keys[Role.INGEST])):
            pass
    assert refused.value.code == 4403


async def test_a_subscription_sent_over_http_is_refused_with_a_pointer_to_the_socket(
    gql: GraphQL, acme: Tenant
) -> None:
    body = await gql(acme.auth(Role.VIEWER), MENTIONS)
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "Subscriptions are served over a WebSocket on /graphql with the "
        "graphql-transport-ws protocol."
    )


async def test_the_rate_limit_applies_when_a_subscription_starts(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    # `connection_init` counts as one request, the first operation as the second.
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    async with (
        serve_gateway(limited) as served,
        live_client(served.url, bearer(acme.keys[Role.VIEWER])) as client,
    ):
        await client.subscribe(MENTIONS)
        await served.listening(acme.org.id)
        await client.subscribe(SIGNALS)
        refused = await client.receive()
    assert refused["type"] == "error" and refused["id"] == "2"
    assert refused["payload"][0]["extensions"]["code"] == "RateLimited"
    assert 1 <= refused["payload"][0]["extensions"]["retryAfter"] <= 60


async def test_a_query_over_the_socket_counts_against_the_rate_limit_too(
    settings: Settings, redis: ArqRedis, acme: Tenant
) -> None:
    # `connection_init` counts as one request, the first operation as the second.
    limited = settings.model_copy(update={"rate_limit_per_minute": 2})
    async with (
        serve_gateway(limited) as served,
        live_client(served.url, bearer(acme.keys[Role.VIEWER])) as client,
    ):
        answered = await client.subscribe("{ watchlists { name } }")
        first = await client.next_data(answered)
        assert (await client.receive())["type"] == "complete"
        await client.subscribe("{ watchlists { name } }")
        refused = await client.receive()
    assert first == {"watchlists": []}
    assert refused["type"] == "error"
    assert refused["payload"][0]["extensions"]["code"] == "RateLimited"


async def test_queries_over_the_socket_read_current_data(
    gateway: Gateway, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    watched = await _store_watchlist(sessions, acme)
    async with transaction(sessions) as session:
        opened = await builders.incident(session, watched, detected_at=builders.T0)
    query = "query ($id: ID!) { incident(id: $id) { status } }"
    variables = {"id": gid("Incident", opened.id)}
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        before = await client.next_data(await client.subscribe(query, variables))
        assert (await client.receive())["type"] == "complete"
        async with transaction(sessions) as session:
            row = await session.get(Incident, opened.id)
            assert row is not None
            row.status = IncidentStatus.ACKNOWLEDGED.value
            session.add(row)
        after = await client.next_data(await client.subscribe(query, variables))
    assert before == {"incident": {"status": "DETECTED"}}
    assert after == {"incident": {"status": "ACKNOWLEDGED"}}


async def test_query_depth_limits_apply_to_subscriptions(gateway: Gateway, acme: Tenant) -> None:
    nested = "mergedInto { " * 10 + "id" + " }" * 10
    deep = f"subscription {{ incidentUpdates {{ incident {{ {nested} }} }} }}"
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        await client.subscribe(deep)
        refused = await client.receive()
    assert refused["type"] == "error"
    assert "exceeds maximum operation depth" in refused["payload"][0]["message"]


@pytest.mark.parametrize(
    ("query", "variables", "message"),
    [
        pytest.param(
            SIGNALS,
            {"watchlistId": gid("Incident", uuid.uuid4())},
            "`watchlistId` must be a Watchlist id.",
            id="wrong type",
        ),
        pytest.param(
            SIGNALS,
            {"watchlistId": gid("Watchlist", uuid.uuid4())},
            "`watchlistId` names no watchlist of your organization.",
            id="unknown watchlist",
        ),
        pytest.param(
            INCIDENT_UPDATES,
            {"incidentId": gid("Incident", uuid.uuid4())},
            "`incidentId` names no incident of your organization.",
            id="unknown incident",
        ),
        pytest.param(
            MENTIONS,
            {"filter": {"watchlistId": gid("Mention", uuid.uuid4())}},
            "`filter.watchlistId` must be a Watchlist id.",
            id="filter of the wrong type",
        ),
    ],
)
async def test_a_subscription_to_an_id_the_caller_cannot_read_is_refused(
    gateway: Gateway,
    acme: Tenant,
    query: str,
    variables: dict[str, object],
    message: str,
) -> None:
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        await client.subscribe(query, variables)
        refused = await client.receive()
    assert refused["type"] == "error"
    assert refused["payload"][0]["message"] == message


async def test_a_rivals_watchlist_is_refused_like_an_unknown_one(
    gateway: Gateway, sessions: async_sessionmaker[AsyncSession], acme: Tenant, rival: Tenant
) -> None:
    theirs = await _store_watchlist(sessions, rival)
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        await client.subscribe(SIGNALS, {"watchlistId": gid("Watchlist", theirs.id)})
        refused = await client.receive()
    assert refused["payload"][0]["message"] == (
        "`watchlistId` names no watchlist of your organization."
    )


async def test_completing_a_subscription_releases_the_channel(
    gateway: Gateway, redis: ArqRedis, acme: Tenant
) -> None:
    name = live.channel(acme.org.id)

    async def subscribers() -> int:
        return int(dict(await redis.pubsub_numsub(name))[name.encode()])

    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        first = await client.subscribe(MENTIONS)
        second = await client.subscribe(SIGNALS)
        await gateway.listening(acme.org.id, 2)
        # Two subscriptions of one organization share the process's one Redis subscription.
        assert await subscribers() == 1
        await client.complete(first)
        await gateway.listening(acme.org.id, 1)
        assert await subscribers() == 1
        await client.complete(second)
        await gateway.listening(acme.org.id, 0)
        # Redis has no event for it: ask until the UNSUBSCRIBE sent on leaving has landed.
        async with asyncio.timeout(TIMEOUT):
            while await subscribers():  # noqa: ASYNC110
                await asyncio.sleep(0.005)
