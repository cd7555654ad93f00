"""Live subscriptions end to end: the real workers commit, Redis carries, gateways deliver.

The demo crisis is ingested for one organization and runs through the real analysis and
incidents workers while subscribers listen over real WebSockets to real uvicorn gateways.
The services' own staging is checked too: every stored mention, signal and timeline event
(including those of the deadline watchdog and of completed tasks) stages one notice.
"""

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlmodel import col, select

from crisiswatch.demo_stream import BRAND, BRAND_KEYWORDS, Post, chatter, crisis
from gateway.config import GatewaySettings
from gateway.tests.subscription_support import (
    LiveClient,
    bearer,
    live_client,
    serve_gateway,
)
from libs.contracts.enums import Role
from libs.contracts.messages import (
    Command,
    CommandResult,
    CreateWatchlist,
    MentionIngested,
)
from libs.contracts.response import CompleteTask
from libs.database.engine import transaction
from libs.database.tables import (
    MentionAnalysis,
    ResponseTask,
    RiskSignal,
    TimelineEvent,
)
from libs.messaging import live
from libs.privacy import generate_key
from libs.settings import Settings
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.tasks import deadlines
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch
from tests.builders import Sessions, Tenant, make_tenant
from tests.fixtures.servers import Servers
from tests.fixtures.workers import handled, running_workers

ACTOR = "key-war-room"
NEGATIVE_MENTIONS = """
subscription { mentions(filter: {sentiment: NEGATIVE}) { databaseId analysis { sentiment } } }
"""
ANY_MENTION = "subscription { mentions { databaseId } }"
SIGNALS = "subscription { riskSignals(minTier: YELLOW) { databaseId tier } }"
UPDATES = """
subscription Updates($incidentId: ID) {
  incidentUpdates(incidentId: $incidentId) {
    change incident { databaseId tier status } event { databaseId kind }
  }
}
"""

Received = dict[str, list[dict[str, Any]]]


@pytest.fixture
def settings(servers: Servers) -> Settings:
    """Settings the gateways and workers of one test share, with a data key of their own."""
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=generate_key(),
        command_timeout_seconds=5.0,
    )


@pytest_asyncio.fixture
async def heilan(sessions: Sessions) -> Tenant:
    """The organization whose crisis the subscribers follow."""
    return await make_tenant(sessions, "heilan")


@asynccontextmanager
async def _system(settings: Settings) -> AsyncIterator[None]:
    """Run the analysis and incidents workers until the block ends."""
    async with running_workers(
        analysis_worker(settings, handle_signals=False),
        incidents_worker(settings, handle_signals=False),
    ):
        yield


async def _ask(redis: ArqRedis, command: Command) -> CommandResult:
    answer = CommandResult.model_validate(await handled(redis, command, timeout=60))
    assert answer.ok, answer.error
    return answer


async def _ingest(
    sessions: Sessions, redis: ArqRedis, tenant: Tenant, posts: list[Post]
) -> list[uuid.UUID]:
    """Store posts as ingest does and wait until analysis has committed them."""
    async with transaction(sessions) as session:
        stored = await store_batch(
            session, tenant.org.id, {i: MentionIn.model_validate(p) for i, p in enumerate(posts)}
        )
    await handled(
        redis,
        MentionIngested(organization_id=tenant.org.id, mention_ids=stored.new_ids),
        timeout=60,
    )
    return list(stored.new_ids)


async def _collect(client: LiveClient, enough: Callable[[Received], bool]) -> Received:
    """Gather `next` payloads per operation until `enough` says so."""
    received: Received = defaultdict(list)
    while not enough(received):
        message = await client.receive()
        assert message["type"] == "next" and "errors" not in message["payload"], message
        received[message["id"]].append(message["payload"]["data"])
    return received


async def test_a_crisis_reaches_its_organizations_subscribers_and_no_one_elses(
    settings: Settings, sessions: Sessions, redis: ArqRedis, heilan: Tenant
) -> None:
    rival = await make_tenant(sessions, "rival")
    now = datetime.now(UTC)
    async with _system(settings), serve_gateway(settings) as gateway:
        await _ask(redis, _watch(heilan))
        async with (
            live_client(gateway.url, bearer(heilan.keys[Role.VIEWER])) as ours,
            live_client(gateway.url, bearer(rival.keys[Role.VIEWER])) as theirs,
        ):
            negative = await ours.subscribe(NEGATIVE_MENTIONS)
            signals = await ours.subscribe(SIGNALS)
            updates = await ours.subscribe(UPDATES)
            rival_mentions = await theirs.subscribe(ANY_MENTION)
            await gateway.listening(heilan.org.id, 3)
            await gateway.listening(rival.org.id, 1)

            await _ingest(sessions, redis, heilan, chatter("live", now))
            await _ingest(sessions, redis, heilan, crisis("live", now))
            async with sessions() as session:
                expected_negative = set(
                    (
                        await session.exec(
                            select(MentionAnalysis.mention_id).where(
                                MentionAnalysis.organization_id == heilan.org.id,
                                MentionAnalysis.sentiment == "negative",
                            )
                        )
                    ).all()
                )
                expected_signals = set(
                    (
                        await session.exec(
                            select(RiskSignal.id).where(
                                RiskSignal.organization_id == heilan.org.id,
                                col(RiskSignal.tier).in_(["yellow", "orange", "red"]),
                            )
                        )
                    ).all()
                )

            def complete(received: Received) -> bool:
                mentions = {uuid.UUID(m["mentions"]["databaseId"]) for m in received[negative]}
                heard = {uuid.UUID(s["riskSignals"]["databaseId"]) for s in received[signals]}
                changes = {u["incidentUpdates"]["change"] for u in received[updates]}
                return (
                    mentions >= expected_negative
                    and heard >= expected_signals
                    and "opened" in changes
                )

            received = await _collect(ours, complete)

            rival_posts = await _ingest(sessions, redis, rival, crisis("rival", now)[:1])
            first_for_rival = await theirs.next_data(rival_mentions)

    assert expected_negative and expected_signals
    # Every negative mention analysis stored, once, and nothing else.
    assert sorted(m["mentions"]["databaseId"] for m in received[negative]) == sorted(
        str(i) for i in expected_negative
    )
    assert {m["mentions"]["analysis"]["sentiment"] for m in received[negative]} == {"NEGATIVE"}
    assert sorted(s["riskSignals"]["databaseId"] for s in received[signals]) == sorted(
        str(i) for i in expected_signals
    )
    opened = next(u for u in received[updates] if u["incidentUpdates"]["change"] == "opened")
    assert opened["incidentUpdates"]["incident"]["tier"] in {"ORANGE", "RED"}
    assert opened["incidentUpdates"]["event"]["kind"] == "opened"
    assert first_for_rival["mentions"]["databaseId"] == str(rival_posts[0])


async def test_a_completed_task_reaches_subscribers_on_every_gateway(
    settings: Settings, sessions: Sessions, redis: ArqRedis, heilan: Tenant
) -> None:
    now = datetime.now(UTC)
    key = bearer(heilan.keys[Role.VIEWER])
    async with (
        _system(settings),
        serve_gateway(settings) as first,
        serve_gateway(settings) as second,
        live_client(first.url, key) as on_first,
        live_client(second.url, key) as on_second,
    ):
        await _ask(redis, _watch(heilan))
        listeners = [
            (on_first, await on_first.subscribe(UPDATES)),
            (on_second, await on_second.subscribe(UPDATES)),
        ]
        await first.listening(heilan.org.id)
        await second.listening(heilan.org.id)
        await _ingest(sessions, redis, heilan, chatter("tasks", now))
        await _ingest(sessions, redis, heilan, crisis("tasks", now))
        # The signal reaches the incidents worker after analysis commits: wait to hear it.
        for client, operation in listeners:
            await _collect(client, _heard(operation, "opened"))
        async with sessions() as session:
            task = (
                await session.exec(select(ResponseTask).order_by(col(ResponseTask.position)))
            ).first()
        assert task is not None
        done = CompleteTask(organization_id=heilan.org.id, actor=ACTOR, task_id=task.id)
        await _ask(redis, done)
        heard = [
            await _collect(client, _heard(operation, "task_done"))
            for client, operation in listeners
        ]
    async with sessions() as session:
        recorded = (
            await session.exec(select(TimelineEvent).where(TimelineEvent.kind == "task_done"))
        ).one()
    for received, (_, operation) in zip(heard, listeners, strict=True):
        update = next(
            u["incidentUpdates"]
            for u in received[operation]
            if u["incidentUpdates"]["change"] == "task_done"
        )
        assert update["incident"]["databaseId"] == str(task.incident_id)
        assert update["event"] == {"databaseId": str(recorded.id), "kind": "task_done"}


async def test_every_overdue_task_stages_one_incident_notice(
    settings: Settings, sessions: Sessions, redis: ArqRedis, heilan: Tenant
) -> None:
    now = datetime.now(UTC)
    async with (
        _system(settings),
        serve_gateway(settings) as gateway,
        live_client(gateway.url, bearer(heilan.keys[Role.VIEWER])) as client,
    ):
        await _ask(redis, _watch(heilan))
        updates = await client.subscribe(UPDATES)
        await gateway.listening(heilan.org.id)
        await _ingest(sessions, redis, heilan, chatter("overdue", now))
        await _ingest(sessions, redis, heilan, crisis("overdue", now))
        await _collect(client, _heard(updates, "opened"))
    async with transaction(sessions) as session:
        await deadlines.check(session, now + timedelta(hours=72))
        staged = live.take_staged(session)
    async with sessions() as session:
        overdue = (
            await session.exec(select(TimelineEvent).where(TimelineEvent.kind == "task_overdue"))
        ).all()
    assert overdue
    assert sorted((n.kind, n.organization_id, n.id) for n in staged) == sorted(
        (live.LiveKind.INCIDENT, heilan.org.id, e.incident_id) for e in overdue
    )
    assert {live.IncidentFacts.of(n).event_id for n in staged} == {e.id for e in overdue}
    assert {live.IncidentFacts.of(n).change for n in staged} == {"task_overdue"}


def _changes(updates: list[dict[str, Any]]) -> set[str]:
    return {u["incidentUpdates"]["change"] for u in updates}


def _heard(operation: str, change: str) -> Callable[[Received], bool]:
    """Whether `operation` has delivered an incident update of `change`."""

    def enough(received: Received) -> bool:
        return change in _changes(received[operation])

    return enough


def _watch(tenant: Tenant) -> CreateWatchlist:
    return CreateWatchlist(
        organization_id=tenant.org.id, actor=ACTOR, name=BRAND, keywords=list(BRAND_KEYWORDS)
    )
