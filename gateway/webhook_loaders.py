"""DataLoaders for webhook endpoints and deliveries, scoped to the caller's organization."""

import uuid

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from gateway.grouped_loaders import never_load, rows_by_id
from libs.database.tables import WebhookDelivery, WebhookEndpoint

# Secrets are never read by the gateway, not even encrypted.
NO_SECRETS = (
    never_load(WebhookEndpoint.secret_cipher),
    never_load(WebhookEndpoint.previous_secret_cipher),
)


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
            options=NO_SECRETS,
        )
        self.deliveries: DataLoader[uuid.UUID, WebhookDelivery | None] = rows_by_id(
            sessions,
            organization_id,
            WebhookDelivery,
            col(WebhookDelivery.id),
            col(WebhookDelivery.organization_id),
        )
