"""An organization's webhook policy: whether private destinations are allowed.

Refusing private, loopback and link-local destinations is the default because a webhook
URL is chosen by a customer and fetched from inside our network. An on-premises integration
that really lives on a private address needs an administrator to opt in, on purpose.
"""

import uuid
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult
from libs.contracts.notify import SetWebhookPolicy
from libs.database.tables import WebhookPolicy


async def allows_private(session: AsyncSession, organization_id: uuid.UUID) -> bool:
    """Return whether the organization allows private, loopback and link-local destinations."""
    policy = await session.get(WebhookPolicy, organization_id)
    return bool(policy and policy.allow_private_destinations)


async def set_policy(
    session: AsyncSession, command: SetWebhookPolicy, *, now: datetime
) -> CommandResult:
    """Allow or refuse private destinations for the organization from now on.

    Endpoints saved earlier are not re-examined here; every delivery checks its destination
    against the policy in force when it is sent.
    """
    await session.exec(
        insert(WebhookPolicy)
        .values(
            organization_id=command.organization_id,
            allow_private_destinations=command.allow_private_destinations,
            updated_at=now,
        )
        .on_conflict_do_update(
            index_elements=["organization_id"],
            set_={
                "allow_private_destinations": command.allow_private_destinations,
                "updated_at": now,
            },
        )
    )
    return CommandResult.success(
        policy={
            "organization_id": str(command.organization_id),
            "allow_private_destinations": command.allow_private_destinations,
            "updated_at": now.isoformat(),
        }
    )
