"""GraphQL subscriptions over a real WebSocket, fed by a worker's commits through Redis.

Each change is committed by a stand-in worker running in the real queue harness, which
announces notices only after its commit; the gateway is a real uvicorn server. A notice a
subscriber must not get is checked by committing it first and a wanted one after: the
wanted one must be the first to arrive.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from gateway.tests import rows
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.subscription_support import (
    TIMEOUT,
    Change,
    Gateway,
    Refused,
    bearer,
    live_client,
    scripted_worker,
    serve_gateway,
)
from libs.contracts.enums import IncidentStatus, Role, Sentiment, Source, Tier
from libs.database.engine import transaction
from libs.database.tables import Incident, Mention, Watchlist
from libs.messaging import live
from libs.settings import Settings
from tests.builders import Tenant

Commit = Callable[[uuid.UUID, Change], Awaitable[None]]

MENTIONS = """
subscription Live($filter: MentionFilter) {
  mentions(filter: $filter) { databaseId source text analysis { sentiment } }
}
"""
SIGNALS = """
subscription Signals($watchlistId: ID, $minTier: Tier) {
  riskSignals(watchlistId: $watchlistId, minTier: $minTier) { databaseId tier score reasons }
}
"""
INCIDENT_UPDATES = """
subscription Updates($incidentId: ID) {
  incidentUpdates(incidentId: $incidentId) {
    change at incident { databaseId status tier } event { kind message }
  }
}
"""


@pytest_asyncio.fixture
async def gateway(settings: Settings, redis: ArqRedis) -> AsyncIterator[Gateway]:
    """A gateway served over a real socket, on an emptied Redis."""
    async with serve_gateway(settings) as served:
        yield served


@pytest_asyncio.fixture
async def commit(settings: Settings, redis: ArqRedis) -> AsyncIterator[Commit]:
    """Commit a change through the stand-in worker and wait until it is announced."""
    async with scripted_worker(settings, redis) as send:
        yield send


async def _store_mention(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, text: str, source: Source
) -> Mention:
    async with transaction(sessions) as session:
        return await rows.mention(
            session, tenant.org.id, posted_at=rows.T0, text=text, source=source
        )


async def _store_watchlist(
    sessions: async_sessionmaker[AsyncSession], tenant: Tenant, name: str = "奶粉质量"
) -> Watchlist:
    async with transaction(sessions) as session:
        return await rows.watchlist(session, tenant.org.id, name)


def analysed(mention: Mention, sentiment: Sentiment, watchlists: list[Watchlist]) -> Change:
    """Store `mention`'s analysis and stage its notice, as analysis does."""

    async def change(session: AsyncSession) -> None:
        await rows.analysis(session, mention, sentiment, watchlists)
        facts = live.MentionFacts(
            watchlist_ids=[w.id for w in watchlists],
            sentiment=sentiment.value,
            source=mention.source,
            posted_at=mention.posted_at,
        )
        live.stage(session, live.mention_notice(mention.organization_id, mention.id, facts))

    return change


def signalled(watched: Watchlist, tier: Tier | str) -> Change:
    """Store a risk signal for `watched` and stage its notice, as analysis does."""

    async def change(session: AsyncSession) -> None:
        row = await rows.signal(session, watched, tier)
        facts = live.SignalFacts(watchlist_id=watched.id, tier=row.tier, score=row.score)
        live.stage(session, live.signal_notice(watched.organization_id, row.id, facts))

    return change


def moved(incident_id: uuid.UUID, status: IncidentStatus, message: str) -> Change:
    """Change an incident's status and append the timeline event, as incidents does."""

    async def change(session: AsyncSession) -> None:
        incident = await session.get(Incident, incident_id)
        assert incident is not None
        incident.status = status.value
        session.add(incident)
        event = await rows.event(session, incident, "status_changed", message, rows.T0)
        facts = live.IncidentFacts(
            event_id=event.id, change=event.kind, at=event.occurred_at, status=incident.status
        )
        live.stage(session, live.incident_notice(incident.organization_id, incident.id, facts))

    return change


async def test_a_mention_stream_delivers_only_what_its_filter_selects(
    gateway: Gateway,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:
    watched = await _store_watchlist(sessions, acme)
    praise = await _store_mention(sessions, acme, "奶粉很好，宝宝爱喝", Source.WEIBO)
    unwatched = await _store_mention(sessions, acme, "别家奶粉拉肚子", Source.WEIBO)
    on_douyin = await _store_mention(sessions, acme, "抖音上说奶粉有问题", Source.DOUYIN)
    complaint = await _store_mention(sessions, acme, "奶粉喝了拉肚子，客服不回", Source.WEIBO)
    selected = {
        "sentiment": "NEGATIVE",
        "source": "WEIBO",
        "watchlistId": gid("Watchlist", watched.id),
    }
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        operation = await client.subscribe(MENTIONS, {"filter": selected})
        await gateway.listening(acme.org.id)
        await commit(acme.org.id, analysed(praise, Sentiment.POSITIVE, [watched]))
        await commit(acme.org.id, analysed(unwatched, Sentiment.NEGATIVE, []))
        await commit(acme.org.id, analysed(on_douyin, Sentiment.NEGATIVE, [watched]))
        await commit(acme.org.id, analysed(complaint, Sentiment.NEGATIVE, [watched]))
        data = await client.next_data(operation)
    assert data["mentions"] == {
        "databaseId": str(complaint.id),
        "source": "WEIBO",
        "text": "奶粉喝了拉肚子，客服不回",
        "analysis": {"sentiment": "NEGATIVE"},
    }


async def test_another_organizations_subscriber_hears_nothing_of_it(
    gateway: Gateway,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    rival: Tenant,
) -> None:
    ours = await _store_mention(sessions, acme, "奶粉喝了拉肚子", Source.WEIBO)
    theirs = await _store_mention(sessions, rival, "竞品奶粉结块", Source.WEIBO)
    async with (
        live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as acme_client,
        live_client(gateway.url, bearer(rival.keys[Role.VIEWER])) as rival_client,
    ):
        acme_operation = await acme_client.subscribe(MENTIONS)
        rival_operation = await rival_client.subscribe(MENTIONS)
        await gateway.listening(acme.org.id)
        await gateway.listening(rival.org.id)
        await commit(acme.org.id, analysed(ours, Sentiment.NEGATIVE, []))
        assert (await acme_client.next_data(acme_operation))["mentions"]["databaseId"] == str(
            ours.id
        )
        await commit(rival.org.id, analysed(theirs, Sentiment.NEGATIVE, []))
        heard = await rival_client.next_data(rival_operation)
    assert heard["mentions"]["databaseId"] == str(theirs.id)


async def test_a_notice_naming_another_organizations_row_delivers_nothing(
    gateway: Gateway,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
    rival: Tenant,
) -> None:
    # A forged notice on acme's channel naming rival's mention: loading re-checks the
    # organization, so acme's subscriber gets nothing until its own mention arrives.
    theirs = await _store_mention(sessions, rival, "竞品奶粉结块", Source.WEIBO)
    async with transaction(sessions) as session:
        await rows.analysis(session, theirs, Sentiment.NEGATIVE)
    ours = await _store_mention(sessions, acme, "奶粉喝了拉肚子", Source.WEIBO)
    forged = live.mention_notice(
        acme.org.id,
        theirs.id,
        live.MentionFacts(sentiment="negative", source="weibo", posted_at=rows.T0),
    )

    async def forge(session: AsyncSession) -> None:
        live.stage(session, forged)

    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        operation = await client.subscribe(MENTIONS)
        await gateway.listening(acme.org.id)
        await commit(acme.org.id, forge)
        await commit(acme.org.id, analysed(ours, Sentiment.NEGATIVE, []))
        data = await client.next_data(operation)
    assert data["mentions"]["databaseId"] == str(ours.id)


async def test_risk_signals_honour_the_watchlist_and_the_minimum_tier(
    gateway: Gateway,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:
    watched = await _store_watchlist(sessions, acme, "奶粉质量")
    other = await _store_watchlist(sessions, acme, "门店服务")
    variables = {"watchlistId": gid("Watchlist", watched.id), "minTier": "ORANGE"}
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        operation = await client.subscribe(SIGNALS, variables)
        await gateway.listening(acme.org.id)
        await commit(acme.org.id, signalled(watched, Tier.YELLOW))
        await commit(acme.org.id, signalled(watched, "none"))
        await commit(acme.org.id, signalled(other, Tier.RED))
        await commit(acme.org.id, signalled(watched, Tier.RED))
        data = await client.next_data(operation)
    assert data["riskSignals"]["tier"] == "RED"
    assert data["riskSignals"]["reasons"] == ["负面声量为基线的 6.2 倍", "媒体大号参与转发"]


async def test_incident_updates_follow_one_incident_and_show_it_as_it_is_now(
    gateway: Gateway,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:
    watched = await _store_watchlist(sessions, acme, "奶粉质量")
    elsewhere = await _store_watchlist(sessions, acme, "门店服务")
    async with transaction(sessions) as session:
        followed = await rows.incident(session, watched, detected_at=rows.T0)
        other = await rows.incident(session, elsewhere, detected_at=rows.T0, title="门店投诉")
    async with live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as client:
        operation = await client.subscribe(
            INCIDENT_UPDATES, {"incidentId": gid("Incident", followed.id)}
        )
        await gateway.listening(acme.org.id)
        await commit(acme.org.id, moved(other.id, IncidentStatus.ACKNOWLEDGED, "其他事件已确认"))
        await commit(acme.org.id, moved(followed.id, IncidentStatus.ACKNOWLEDGED, "事件已确认"))
        first = (await client.next_data(operation))["incidentUpdates"]
        await commit(acme.org.id, moved(followed.id, IncidentStatus.RESPONDING, "开始处置"))
        second = (await client.next_data(operation))["incidentUpdates"]
    assert first["change"] == "status_changed"
    assert first["incident"] == {
        "databaseId": str(followed.id),
        "status": "ACKNOWLEDGED",
        "tier": "ORANGE",
    }
    assert first["event"] == {"kind": "status_changed", "message": "事件已确认"}
    # Read afresh for every delivery: the connection's earlier read is not reused.
    assert second["incident"]["status"] == "RESPONDING"
    assert second["event"]["message"] == "开始处置"


async def test_two_gateway_processes_both_deliver_a_commit(
    settings: Settings,
    redis: ArqRedis,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:
    mention = await _store_mention(sessions, acme, "奶粉喝了拉肚子", Source.WEIBO)
    key = bearer(acme.keys[Role.VIEWER])
    async with (
        serve_gateway(settings) as first,
        serve_gateway(settings) as second,
        live_client(first.url, key) as on_first,
        live_client(second.url, key) as on_second,
    ):
        first_operation = await on_first.subscribe(MENTIONS)
        second_operation = await on_second.subscribe(MENTIONS)
        await first.listening(acme.org.id)
        await second.listening(acme.org.id)
        await commit(acme.org.id, analysed(mention, Sentiment.NEGATIVE, []))
        heard = [
            await on_first.next_data(first_operation),
            await on_second.next_data(second_operation),
        ]
    assert [h["mentions"]["databaseId"] for h in heard] == [str(mention.id)] * 2


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


async def test_the_key_may_come_in_the_upgrade_requests_header(
    gateway: Gateway,
    commit: Commit,
    sessions: async_sessionmaker[AsyncSession],
    acme: Tenant,
) -> None:
    mention = await _store_mention(sessions, acme, "奶粉喝了拉肚子", Source.WEIBO)
    async with live_client(gateway.url, None, headers=acme.auth(Role.VIEWER)) as client:
        operation = await client.subscribe(MENTIONS)
        await gateway.listening(acme.org.id)
        await commit(acme.org.id, analysed(mention, Sentiment.NEGATIVE, []))
        data = await client.next_data(operation)
    assert data["mentions"]["databaseId"] == str(mention.id)


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
    limited = settings.model_copy(update={"rate_limit_per_minute": 1})
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
    limited = settings.model_copy(update={"rate_limit_per_minute": 1})
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
        opened = await rows.incident(session, watched, detected_at=rows.T0)
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
