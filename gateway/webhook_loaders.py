"""DataLoaders for webhook endpoints and deliveries, scoped to the caller's organization."""

import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.grouped_loaders import never_load, rows_by_id
from libs.database.tables import WebhookDelivery, WebhookEndpoint

# Secrets are never read by the gateway, not even encrypted: plain-row reads leave these
# columns out, ORM queries defer them with `NO_SECRETS`.
SECRET_COLUMNS = (WebhookEndpoint.secret_cipher, WebhookEndpoint.previous_secret_cipher)
NO_SECRETS = tuple(never_load(column) for column in SECRET_COLUMNS)


class WebhookLoaders:
    """Endpoints and deliveries by id for one request."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], organization_id: uuid.UUID
    ) -> None:
        self.endpoints: DataLoader[uuid.UUID, WebhookEndpoint | None] = rows_by_id(
            sessions,
            organization_id,
            WebhookEndpoint,
            col(WebhookEndpoint.id),
            col(WebhookEndpoint.organization_id),
            omit=SECRET_COLUMNS,
        )
        self.deliveries: DataLoader[uuid.UUID, WebhookDelivery | None] = rows_by_id(
            sessions,
            organization_id,
            WebhookDelivery,
            col(WebhookDelivery.id),
            col(WebhookDelivery.organization_id),
        )
