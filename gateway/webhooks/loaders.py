"""The webhook reads: endpoints (without their secrets) and deliveries by id, the policy."""

from sqlmodel import col, select

from gateway.core.context import Info
from gateway.core.reads import ById, never_load
from libs.database.tables import WebhookDelivery, WebhookEndpoint, WebhookPolicy

# Secrets are never read by the gateway, not even encrypted: plain-row reads leave these
# columns out, ORM queries defer them with `NO_SECRETS`.
SECRET_COLUMNS = (WebhookEndpoint.secret_cipher, WebhookEndpoint.previous_secret_cipher)
NO_SECRETS = tuple(never_load(column) for column in SECRET_COLUMNS)
ENDPOINTS = ById(
    WebhookEndpoint,
    col(WebhookEndpoint.id),
    omit=SECRET_COLUMNS,
)
DELIVERIES = ById(WebhookDelivery, col(WebhookDelivery.id))


async def read_policy(info: Info) -> WebhookPolicy | None:
    """Read the organization's webhook policy row, None when it never set one."""
    statement = select(WebhookPolicy).where(
        col(WebhookPolicy.organization_id) == info.context.principal.organization_id
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()
