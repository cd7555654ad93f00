"""An organization's webhook policy: a flag that no longer grants anything.

Organizations once allowed private, loopback and link-local destinations for themselves.
On a deployment shared by many organizations that let any of them aim the service at the
deployment's own network, so which private networks webhooks reach is now the operator's
setting (`CRISISWATCH_WEBHOOK_PRIVATE_CIDRS`, see `destinations`). The command stays for
clients that still send it: turning the flag off is accepted and changes nothing, turning
it on is refused with a message that says who decides instead.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.notify import SetWebhookPolicy
from services.notify import repository
from services.notify.endpoints.destinations import PRIVATE_CIDRS_SETTING

REFUSAL = (
    "private destinations are chosen by the deployment's operator "
    f"({PRIVATE_CIDRS_SETTING}) for every organization, not by an organization"
)


async def set_policy(
    session: AsyncSession, command: SetWebhookPolicy, *, now: datetime
) -> CommandResult:
    """Store `allow_private_destinations: false`; refuse `true`, which would grant nothing."""
    if command.allow_private_destinations:
        return CommandResult.failure(ErrorCode.INVALID, REFUSAL, field="allowPrivateDestinations")
    await repository.set_policy(session, command.organization_id, allow_private=False, now=now)
    return CommandResult.success(
        policy={
            "organization_id": str(command.organization_id),
            "allow_private_destinations": False,
            "updated_at": now.isoformat(),
        }
    )
