"""An organization's webhook policy: whether private destinations are allowed.

Refusing private, loopback and link-local destinations is the default because a webhook
URL is chosen by a customer and fetched from inside our network. An on-premises integration
that really lives on a private address needs an administrator to opt in, on purpose.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult
from libs.contracts.notify import SetWebhookPolicy
from services.notify import repository


async def set_policy(
    session: AsyncSession, command: SetWebhookPolicy, *, now: datetime
) -> CommandResult:
    """Allow or refuse private destinations for the organization from now on.

    Endpoints saved earlier are not re-examined here; every delivery checks its destination
    against the policy in force when it is sent.
    """
    allowed = command.allow_private_destinations
    await repository.set_policy(session, command.organization_id, allow_private=allowed, now=now)
    return CommandResult.success(
        policy={
            "organization_id": str(command.organization_id),
            "allow_private_destinations": allowed,
            "updated_at": now.isoformat(),
        }
    )
