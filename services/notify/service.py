"""The notify service's façade: the one module its entry points call into.

The queue routes (`worker.py`) call the handlers, which take the caller's session, never
commit, and return an `Outcome`: an integration event fans out into deliveries and answers
nothing; a command gets its `CommandResult`. Notify emits no messages of its own, so no
outcome carries any. The dispatcher loop (`delivery/dispatcher.py`) calls the two steps
around each attempt, `claim_due` and `record_answer`; they answer with what the loop needs
next (the leased attempts, the delivery's new status), since a pass answers nobody. The
command handlers are declared through `answering`, which answers a command with its result or
with the refusal a lookup raised.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.notify import CreateWebhookEndpoint
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.contracts.response import IntegrationEventEmitted
from libs.privacy import DataKey
from services.notify.answers import answering_with_key
from services.notify.delivery import attempts, fanout
from services.notify.delivery.delivery import Answer, Attempt
from services.notify.endpoints import endpoints, policy
from services.notify.endpoints.destinations import NO_PRIVATE_NETWORKS, PrivateNetworks


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


_register = answering_with_key(endpoints.create_endpoint, "webhook endpoints cannot be created")


async def create_endpoint(
    session: AsyncSession,
    command: CreateWebhookEndpoint,
    key: DataKey | None,
    *,
    now: datetime,
    private: PrivateNetworks = NO_PRIVATE_NETWORKS,
    quota: int = 0,
) -> Outcome:
    """Register an endpoint; refused clearly when the data key is not configured, or when the
    organization holds its `quota` of endpoints (0: none): each one is sent every event it
    wants, by a dispatcher other organizations share."""
    refused = await endpoints.over_quota(session, command.organization_id, quota)
    if refused is not None:
        return Outcome.answer(refused)
    return await _register(session, command, key, now=now, private=private)


rotate_secret = answering_with_key(endpoints.rotate_secret, "webhook secrets cannot be rotated")
"""Issue a new signing secret; refused clearly when the data key is not configured."""

update_endpoint = answering(endpoints.update_endpoint)
"""Change an endpoint or enable it again."""

delete_endpoint = answering(endpoints.delete_endpoint)
"""Remove an endpoint and its delivery log."""

redeliver = answering(endpoints.redeliver)
"""Queue a logged delivery to be sent again now."""

set_policy = answering(policy.set_policy)
"""Allow or refuse private destinations for the organization."""


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
