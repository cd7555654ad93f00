"""The notify service's façade: the one module its entry points call into.

The queue routes (`worker.py`) call the handlers, which take the caller's session, never
commit, and return an `Outcome`: an integration event fans out into deliveries and answers
nothing; a command gets its `CommandResult`. Notify emits no messages of its own, so no
outcome carries any. The dispatcher loop (`delivery/dispatcher.py`) calls the two steps
around each attempt, `claim_due` and `record_answer`; they answer with what the loop needs
next (the leased attempts, the delivery's new status), since a pass answers nobody.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
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
from libs.privacy import DataKey
from services.notify.delivery import attempts, fanout
from services.notify.delivery.delivery import Answer, Attempt
from services.notify.endpoints import endpoints, policy


async def fan_out(
    session: AsyncSession,
    event: IntegrationEventEmitted,
    *,
    now: datetime,
    console_url: str | None = None,
) -> Outcome:
    """Turn an integration event into one delivery per endpoint subscribed to it, due now."""
    await fanout.fan_out(session, event, now=now, console_url=console_url)
    return Outcome()


async def create_endpoint(
    session: AsyncSession, command: CreateWebhookEndpoint, key: DataKey | None, *, now: datetime
) -> Outcome:
    """Register an endpoint; refused clearly when the data key is not configured."""
    if key is None:
        return _no_key("webhook endpoints cannot be created")
    return Outcome.answer(await endpoints.create_endpoint(session, command, key, now=now))


async def rotate_secret(
    session: AsyncSession, command: RotateWebhookSecret, key: DataKey | None, *, now: datetime
) -> Outcome:
    """Issue a new signing secret; refused clearly when the data key is not configured."""
    if key is None:
        return _no_key("webhook secrets cannot be rotated")
    return Outcome.answer(await endpoints.rotate_secret(session, command, key, now=now))


async def update_endpoint(
    session: AsyncSession, command: UpdateWebhookEndpoint, *, now: datetime
) -> Outcome:
    """Change an endpoint or enable it again."""
    return Outcome.answer(await endpoints.update_endpoint(session, command, now=now))


async def delete_endpoint(
    session: AsyncSession, command: DeleteWebhookEndpoint, *, now: datetime
) -> Outcome:
    """Remove an endpoint and its delivery log."""
    return Outcome.answer(await endpoints.delete_endpoint(session, command, now=now))


async def redeliver(session: AsyncSession, command: RedeliverWebhook, *, now: datetime) -> Outcome:
    """Queue a logged delivery to be sent again now."""
    return Outcome.answer(await endpoints.redeliver(session, command, now=now))


async def set_policy(session: AsyncSession, command: SetWebhookPolicy, *, now: datetime) -> Outcome:
    """Allow or refuse private destinations for the organization."""
    return Outcome.answer(await policy.set_policy(session, command, now=now))


async def claim_due(
    session: AsyncSession, key: DataKey, *, now: datetime, limit: int
) -> list[Attempt]:
    """Lease up to `limit` deliveries due at `now`; the caller commits before sending them."""
    return await attempts.claim(session, key, now, limit=limit)


async def record_answer(
    session: AsyncSession, attempt: Attempt, answer: Answer, *, now: datetime
) -> str:
    """Record what an attempt got (retry, give up, disable); return the delivery's status."""
    return await attempts.record(session, attempt, answer, now=now)


def _no_key(action: str) -> Outcome:
    # Secrets are only ever stored encrypted; without the key there is nowhere to put them.
    return Outcome.answer(
        CommandResult.failure(
            ErrorCode.INVALID,
            f"{action}: CRISISWATCH_DATA_KEY is not set, so secrets cannot be stored",
        )
    )
