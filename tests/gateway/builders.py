"""The running system for gateway tests, and builders that go through it.

Data goes the way production data does: watchlists through the `createWatchlist` mutation
(the analysis worker), incidents from a risk signal handled by the incidents worker,
everything else through its mutation. Only what the analysis service stores before it
raises a signal (the signal row) and what ingest stores (a mention) are written here.
"""

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select

from gateway.config import GatewaySettings
from gateway.tests.subscription_support import Gateway, serve_gateway
from gateway.tests.war_room_ops import CREATE_WATCHLIST
from libs.contracts.enums import Role, Source, Tier
from libs.contracts.messages import MentionIngested, RiskSignalRaised
from libs.database.engine import session_factory, transaction
from libs.database.tables import Incident, Mention, ResponseTask, RiskSignal, Watchlist
from libs.documents.signing import new_key
from libs.messaging.connection import connect
from libs.privacy import generate_key
from libs.settings import Settings
from libs.text import content_hash, normalize
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.config import IncidentsSettings
from services.incidents.worker import create_worker as incidents_worker
from services.notify.config import NotifySettings
from services.notify.worker import create_worker as notify_worker
from tests.builders import Sessions, Tenant, make_tenant, read_all
from tests.fixtures.servers import Servers, empty_database
from tests.fixtures.workers import handled, running_workers, settled


@dataclass(frozen=True)
class System:
    """The real workers and a served gateway, with what a test needs to talk to them."""

    settings: Settings
    sessions: Sessions
    redis: ArqRedis
    gateway: Gateway
    http: httpx.AsyncClient

    async def post(
        self, headers: dict[str, str], query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Post one GraphQL operation and return the decoded body."""
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def mutate(
        self, tenant: Tenant, role: Role, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Send a one-field operation with `role`'s key and return that field's result."""
        body = await self.post(tenant.auth(role), query, variables)
        assert "errors" not in body, body
        (result,) = body["data"].values()
        assert isinstance(result, dict)
        return result


@asynccontextmanager
async def running_system(servers: Servers, engine: AsyncEngine) -> AsyncIterator[System]:
    """Run the analysis, incidents and notify workers and a gateway until the block ends.

    The database is emptied first and the workers' background passes run once an hour, so
    neither the deadline watchdog nor the webhook dispatcher acts on anything during a test:
    the first pass, at start, finds nothing.
    """
    await empty_database(engine)
    settings = GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=generate_key(),
        command_timeout_seconds=30.0,
        # The operator's private networks: TEST-NET-2, which the tests' endpoints point into.
        webhook_private_cidrs="198.51.100.0/24",
        # Signed archives can be downloaded and checked against the published key.
        archive_signing_key=new_key(),
    )
    workers = [
        analysis_worker(settings, handle_signals=False),
        incidents_worker(
            IncidentsSettings.extending(settings).model_copy(
                update={"deadline_check_seconds": 3600.0}
            ),
            handle_signals=False,
        ),
        notify_worker(
            NotifySettings.extending(settings).model_copy(
                update={"webhook_dispatch_seconds": 3600.0}
            ),
            handle_signals=False,
        ),
    ]
    redis = await connect(servers.redis_url)
    try:
        async with (
            running_workers(*workers),
            serve_gateway(settings) as gateway,
            httpx.AsyncClient(base_url=gateway.http_url, timeout=60) as http,
        ):
            yield System(settings, session_factory(engine), redis, gateway, http)
    finally:
        await redis.aclose()


async def tenant(system: System, name: str) -> Tenant:
    """Create an organization of one test's own, with a key for every role."""
    return await make_tenant(system.sessions, f"{name}-{uuid.uuid4().hex[:8]}")


async def watchlist(system: System, owner: Tenant, name: str, keywords: list[str]) -> uuid.UUID:
    """Create a watchlist through the gateway and the analysis worker."""
    variables = {"input": {"name": name, "keywords": keywords}}
    created = await system.mutate(owner, Role.RESPONDER, CREATE_WATCHLIST, variables)
    assert created["__typename"] == "Watchlist", created
    return uuid.UUID(created["databaseId"])


async def raise_signal(
    system: System, owner: Tenant, watchlist_id: uuid.UUID, tier: Tier = Tier.ORANGE
) -> uuid.UUID:
    """Raise a risk signal as analysis does: store it, then let the incidents worker act."""
    now = datetime.now(UTC)
    reasons = ["负面声量为基线的 6.2 倍", "媒体大号参与转发"]
    async with transaction(system.sessions) as session:
        watched = await session.get(Watchlist, watchlist_id)
        assert watched is not None
        row = RiskSignal(
            organization_id=owner.org.id,
            watchlist_id=watchlist_id,
            tier=tier.value,
            score=71.5,
            components={"spike_ratio": 6.2},
            reasons=reasons,
            window_start=now - timedelta(minutes=15),
            window_end=now,
        )
        session.add(row)
        name = watched.name
    raised = RiskSignalRaised(
        organization_id=owner.org.id,
        signal_id=row.id,
        watchlist_id=watchlist_id,
        watchlist_name=name,
        tier=tier,
        score=row.score,
        reasons=reasons,
        detected_at=now,
    )
    await handled(system.redis, raised)
    await settled(system.sessions, system.redis, owner.org.id)
    return row.id


async def open_incident(
    system: System, owner: Tenant, watchlist_id: uuid.UUID, tier: Tier = Tier.ORANGE
) -> uuid.UUID:
    """Open an incident on the watchlist from a signal; return its id."""
    signal_id = await raise_signal(system, owner, watchlist_id, tier)
    async with system.sessions() as session:
        opened = await session.exec(
            select(Incident.id).where(col(Incident.last_signal_id) == signal_id)
        )
        return opened.one()


async def tasks_of(system: System, incident_id: uuid.UUID) -> list[uuid.UUID]:
    """Return the ids of the incident's response tasks in playbook order."""
    query = select(ResponseTask.id).where(col(ResponseTask.incident_id) == incident_id)
    return await read_all(system.sessions, query.order_by(col(ResponseTask.position)))


async def analysed(
    system: System,
    owner: Tenant,
    *texts: str,
    source: Source = Source.WEIBO,
    ago: Sequence[timedelta] = (),
) -> list[uuid.UUID]:
    """Store mentions as ingest does and return once the analysis worker has committed them.

    Each is posted a minute ago, or as long ago as `ago` says (one per text: a history).
    """
    rows = [
        Mention(
            organization_id=owner.org.id,
            source=source.value,
            external_id=uuid.uuid4().hex,
            text=text,
            content_hash=content_hash(normalize(text)),
            posted_at=datetime.now(UTC) - (ago[n] if ago else timedelta(minutes=1)),
        )
        for n, text in enumerate(texts)
    ]
    async with transaction(system.sessions) as session:
        session.add_all(rows)
    ids = [row.id for row in rows]
    await handled(system.redis, MentionIngested(organization_id=owner.org.id, mention_ids=ids))
    return ids


@dataclass(frozen=True)
class WarRoom:
    """An organization with two watchlists, each with an orange incident opened by a signal."""

    tenant: Tenant
    watchlist: uuid.UUID
    incident: uuid.UUID
    tasks: list[uuid.UUID]
    other_watchlist: uuid.UUID
    other_incident: uuid.UUID


async def war_room(system: System, name: str = "acme") -> WarRoom:
    """Build a war room through the gateway and the real workers."""
    owner = await tenant(system, name)
    watched = await watchlist(system, owner, "奶粉质量", ["奶粉", "拉肚子"])
    elsewhere = await watchlist(system, owner, "物流", ["快递"])
    incident = await open_incident(system, owner, watched)
    return WarRoom(
        tenant=owner,
        watchlist=watched,
        incident=incident,
        tasks=await tasks_of(system, incident),
        other_watchlist=elsewhere,
        other_incident=await open_incident(system, owner, elsewhere),
    )


def refusal(kind: str, message: str, field: str) -> dict[str, str]:
    """A mutation's answer refusing on `field`, as the tests select it: kind, message, field."""
    return {"__typename": kind, "message": message, "field": field}
