"""Entry point of the notify worker: integration events in, signed deliveries out.

It consumes the events queue: each `integration.event` becomes one delivery per subscribed
endpoint (in the harness's transaction, with a receipt, so a redelivered message adds
nothing), and the endpoint commands are answered like every other command. The dispatcher
runs beside the routes in the same process and does the sending.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import arq.worker
import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import EVENTS_QUEUE, CommandResult
from libs.contracts.notify import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookPolicy,
    UpdateWebhookEndpoint,
)
from libs.contracts.response import IntegrationEventEmitted
from libs.messaging.worker import Outcome, Route, Runtime, build_worker
from libs.privacy import DataKey, install_masking
from libs.settings import Settings, get_settings
from services.notify import endpoints, fanout, policy
from services.notify.dispatcher import Dispatcher, FixedClock, SystemClock

CONSUMER = "notify"
MAX_JOBS = 4
DISPATCH_INTERVAL_SECONDS = 2.0


@dataclass
class NotifyRuntime(Runtime):
    """The worker's resources: the data key that unlocks secrets, and the dispatcher loop."""

    console_url: str | None = None
    data_key: DataKey | None = None
    dispatcher: Dispatcher | None = None


log = logging.getLogger(__name__)


def now() -> datetime:
    """The wall clock, read once per message; every service function takes it explicitly."""
    return datetime.now(UTC)


def _no_key(action: str) -> CommandResult:
    # Secrets are only ever stored encrypted; without the key there is nowhere to put them.
    return CommandResult.failure(
        "Invalid", f"{action}: CRISISWATCH_DATA_KEY is not set, so secrets cannot be stored"
    )


async def handle_event(
    runtime: NotifyRuntime, session: AsyncSession, event: IntegrationEventEmitted
) -> Outcome:
    """Turn an integration event into deliveries for the endpoints subscribed to it."""
    await fanout.fan_out(session, event, now=now(), console_url=runtime.console_url)
    return Outcome()


async def handle_create(
    runtime: NotifyRuntime, session: AsyncSession, command: CreateWebhookEndpoint
) -> Outcome:
    """Register an endpoint; refused clearly when the data key is not configured."""
    key = runtime.data_key
    if key is None:
        return Outcome(result=_no_key("webhook endpoints cannot be created"))
    return Outcome(result=await endpoints.create_endpoint(session, command, key, now=now()))


async def handle_rotate(
    runtime: NotifyRuntime, session: AsyncSession, command: RotateWebhookSecret
) -> Outcome:
    """Issue a new signing secret; refused clearly when the data key is not configured."""
    key = runtime.data_key
    if key is None:
        return Outcome(result=_no_key("webhook secrets cannot be rotated"))
    return Outcome(result=await endpoints.rotate_secret(session, command, key, now=now()))


async def handle_update(
    runtime: NotifyRuntime, session: AsyncSession, command: UpdateWebhookEndpoint
) -> Outcome:
    """Change an endpoint or enable it again."""
    return Outcome(result=await endpoints.update_endpoint(session, command, now=now()))


async def handle_delete(
    runtime: NotifyRuntime, session: AsyncSession, command: DeleteWebhookEndpoint
) -> Outcome:
    """Remove an endpoint and its delivery log."""
    return Outcome(result=await endpoints.delete_endpoint(session, command, now=now()))


async def handle_redeliver(
    runtime: NotifyRuntime, session: AsyncSession, command: RedeliverWebhook
) -> Outcome:
    """Queue a logged delivery to be sent again now."""
    return Outcome(result=await endpoints.redeliver(session, command, now=now()))


async def handle_set_policy(
    runtime: NotifyRuntime, session: AsyncSession, command: SetWebhookPolicy
) -> Outcome:
    """Allow or refuse private destinations for the organization."""
    return Outcome(result=await policy.set_policy(session, command, now=now()))


ROUTES: list[Route[NotifyRuntime, Any]] = [
    Route(IntegrationEventEmitted, handle_event),
    Route(CreateWebhookEndpoint, handle_create),
    Route(UpdateWebhookEndpoint, handle_update),
    Route(RotateWebhookSecret, handle_rotate),
    Route(DeleteWebhookEndpoint, handle_delete),
    Route(RedeliverWebhook, handle_redeliver),
    Route(SetWebhookPolicy, handle_set_policy),
]


async def dispatch_once(
    sessions: async_sessionmaker[AsyncSession],
    key: DataKey,
    *,
    now: datetime,
    client: httpx.AsyncClient | None = None,
    console_url: str | None = None,
) -> int:
    """Send every delivery due at `now` once, as one dispatcher pass would; return the count."""
    dispatcher = Dispatcher(
        sessions,
        key,
        FixedClock(now),
        interval=DISPATCH_INTERVAL_SECONDS,
        client=client,
        console_url=console_url,
    )
    try:
        return await dispatcher.run_once()
    finally:
        await dispatcher.close()


def create_worker(
    settings: Settings, *, burst: bool = False, handle_signals: bool = True
) -> arq.worker.Worker:
    """Build the worker that consumes the events queue and sends deliveries."""

    async def startup(base: Runtime) -> NotifyRuntime:
        runtime = NotifyRuntime(
            base.engine, base.sessions, base.redis, console_url=settings.console_url
        )
        if not settings.data_key:
            log.warning("notify: CRISISWATCH_DATA_KEY is not set; no webhook can be signed or sent")
            return runtime
        runtime.data_key = DataKey.from_settings(settings)
        if not burst:
            runtime.dispatcher = Dispatcher(
                runtime.sessions,
                runtime.data_key,
                SystemClock(),
                interval=settings.webhook_dispatch_seconds,
                console_url=settings.console_url,
            )
            runtime.dispatcher.start()
        return runtime

    async def shutdown(runtime: NotifyRuntime) -> None:
        if runtime.dispatcher is not None:
            await runtime.dispatcher.stop()

    return build_worker(
        consumer=CONSUMER,
        queue=EVENTS_QUEUE,
        routes=ROUTES,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        setup=startup,
        on_shutdown=shutdown,
        max_jobs=MAX_JOBS,
        burst=burst,
        handle_signals=handle_signals,
    )


def main() -> None:
    """Run the notify worker until it is stopped."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    install_masking()
    create_worker(get_settings()).run()


if __name__ == "__main__":
    main()
