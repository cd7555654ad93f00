"""Entry point of the notify worker: integration events in, signed deliveries out.

It consumes the events queue. The harness (libs.messaging.worker) gives each message a
transaction with a receipt, so a redelivered message adds nothing, and commits once the
handler returns; the handlers here only call the service. Beside the routes, in the same
process, the dispatcher loop (`delivery/dispatcher.py`) does the sending.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Unpack

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs import audit
from libs.audit import Audited, EntityKind
from libs.clock import FixedClock
from libs.contracts.messages import EVENTS_QUEUE
from libs.contracts.notify import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookPolicy,
    UpdateWebhookEndpoint,
)
from libs.contracts.outcome import Outcome
from libs.contracts.response import IntegrationEventEmitted
from libs.database.tables import WebhookEndpoint, WebhookPolicy
from libs.messaging.worker import HowToRun, Route, Runtime, Worker, WorkerSpec, with_now
from libs.privacy import DataKey
from libs.quotas import Quotas
from libs.settings import Settings
from services.notify import service
from services.notify.config import NotifySettings
from services.notify.delivery.dispatcher import Dispatcher
from services.notify.endpoints.destinations import (
    NO_PRIVATE_NETWORKS,
    PrivateNetworks,
    Resolver,
    resolve,
)

CONSUMER = "notify"
DISPATCH_INTERVAL_SECONDS = 2.0

log = logging.getLogger(__name__)


@dataclass
class NotifyRuntime(Runtime):
    """The worker's resources: the data key that unlocks secrets, the private networks the
    operator lets webhooks reach, the organizations' quotas, and the dispatcher loop."""

    console_url: str | None = None
    data_key: DataKey | None = None
    private_networks: PrivateNetworks = NO_PRIVATE_NETWORKS
    quotas: Quotas = field(default_factory=Quotas)


async def handle_event(
    runtime: NotifyRuntime, session: AsyncSession, event: IntegrationEventEmitted
) -> Outcome:
    """Turn an integration event into deliveries for the endpoints subscribed to it."""
    return await service.fan_out(
        session, event, now=runtime.clock.now(), console_url=runtime.console_url
    )


async def handle_create(
    runtime: NotifyRuntime, session: AsyncSession, command: CreateWebhookEndpoint
) -> Outcome:
    """Register an endpoint within the organization's quota of them."""
    return await service.create_endpoint(
        session,
        command,
        runtime.data_key,
        now=runtime.clock.now(),
        private=runtime.private_networks,
        quota=runtime.quotas.endpoints,
    )


async def handle_update(
    runtime: NotifyRuntime, session: AsyncSession, command: UpdateWebhookEndpoint
) -> Outcome:
    """Change an endpoint."""
    return await service.update_endpoint(
        session, command, now=runtime.clock.now(), private=runtime.private_networks
    )


async def handle_rotate(
    runtime: NotifyRuntime, session: AsyncSession, command: RotateWebhookSecret
) -> Outcome:
    """Issue a new signing secret."""
    return await service.rotate_secret(session, command, runtime.data_key, now=runtime.clock.now())


# An endpoint's configuration, never its secrets, nor the delivery state that failures change.
_ENDPOINT_STATE = ("secret_cipher", "previous_secret_cipher", "failing_since")


def _endpoint(action: str, *, id_field: str | None = "endpoint_id") -> Audited:
    """Audit `action` on the endpoint a command names (or, creating one, the one it answers)."""
    read = audit.one_row(
        WebhookEndpoint, id_field=id_field, answered="endpoint.id", omit=_ENDPOINT_STATE
    )
    return Audited(EntityKind.WEBHOOK, action, read)


_POLICY = Audited(EntityKind.WEBHOOK_POLICY, "set", audit.matching(WebhookPolicy, lambda _: ()))

ROUTES: list[Route[NotifyRuntime, Any]] = [
    Route(IntegrationEventEmitted, handle_event),
    Route(CreateWebhookEndpoint, handle_create, audit=_endpoint("create", id_field=None)),
    Route(UpdateWebhookEndpoint, handle_update, audit=_endpoint("update")),
    Route(RotateWebhookSecret, handle_rotate, audit=_endpoint("rotate_secret")),
    Route(DeleteWebhookEndpoint, with_now(service.delete_endpoint), audit=_endpoint("delete")),
    Route(RedeliverWebhook, with_now(service.redeliver)),
    Route(SetWebhookPolicy, with_now(service.set_policy), audit=_POLICY),
]


async def dispatch_once(
    sessions: async_sessionmaker[AsyncSession],
    key: DataKey,
    *,
    now: datetime,
    client: httpx.AsyncClient | None = None,
    console_url: str | None = None,
    private: PrivateNetworks = NO_PRIVATE_NETWORKS,
    resolve: Resolver = resolve,
) -> int:
    """Send every delivery due at `now` once, as one dispatcher pass would; return the count."""
    dispatcher = Dispatcher(
        sessions,
        key,
        FixedClock(now),
        interval=DISPATCH_INTERVAL_SECONDS,
        client=client,
        console_url=console_url,
        private=private,
        resolve=resolve,
    )
    try:
        return await dispatcher.run_once()
    finally:
        await dispatcher.close()


WORKER = WorkerSpec(CONSUMER, EVENTS_QUEUE, ROUTES)


def create_worker(settings: Settings, **how: Unpack[HowToRun]) -> Worker:
    """Build the worker that consumes the events queue and sends deliveries."""
    own = NotifySettings.extending(settings)

    async def startup(base: Runtime) -> NotifyRuntime:
        runtime = base.extend(
            NotifyRuntime,
            console_url=own.console_url,
            private_networks=PrivateNetworks.parse(own.webhook_private_cidrs),
            quotas=Quotas.from_settings(own),
        )
        if not own.data_key:
            log.warning("notify: CRISISWATCH_DATA_KEY is not set; no webhook can be signed or sent")
            return runtime
        runtime.data_key = DataKey.from_settings(own)
        runtime.loops.append(
            Dispatcher(
                runtime.sessions,
                runtime.data_key,
                runtime.clock,
                interval=own.webhook_dispatch_seconds,
                console_url=own.console_url,
                batch_size=own.webhook_batch_size,
                concurrency=own.webhook_concurrency,
                private=runtime.private_networks,
            )
        )
        return runtime

    return WORKER.build(own, startup, own.notify_max_jobs, **how)
