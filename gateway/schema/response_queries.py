"""Read fields for the war room's settings and integrations: playbooks and webhooks.

Everything is limited to the caller's organization. Webhook reads never include a secret.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.schema import listings
from gateway.schema.filters import WebhookDeliveryFilter, require_id
from gateway.schema.ordering import WebhookDeliveryOrder
from gateway.schema.pagination import fetch_connection
from gateway.schema.response_types import Playbook
from gateway.schema.webhook_mutations import read_policy
from gateway.schema.webhook_types import WebhookDelivery, WebhookEndpoint, WebhookPolicy
from gateway.webhook_loaders import NO_SECRETS
from libs.database import tables


@strawberry.type
class ResponseQuery:
    @strawberry.field(
        description=(
            "Your organization's own playbooks, by tier and crisis type. A tier without one "
            "uses the built-in playbook."
        )
    )
    async def playbooks(self, info: Info) -> list[Playbook]:
        playbook = tables.Playbook
        statement = (
            select(playbook)
            .where(col(playbook.organization_id) == info.context.principal.organization_id)
            .order_by(col(playbook.tier), col(playbook.crisis_type).collate("C"))
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        return [Playbook.from_row(row) for row in rows]

    @strawberry.field(
        description="Every webhook and chat-bot endpoint by name (code point order); no secrets."
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        endpoint = tables.WebhookEndpoint
        statement = (
            select(endpoint)
            .where(col(endpoint.organization_id) == info.context.principal.organization_id)
            .order_by(col(endpoint.name).collate("C"), col(endpoint.id))
            .options(*NO_SECRETS)
        )
        async with info.context.sessions() as session:
            rows = (await session.exec(statement)).all()
        return [WebhookEndpoint.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "The delivery log, newest first unless `orderBy` says otherwise; narrow it to one "
            "endpoint or one status (`pending`, `succeeded`, `failed`, `gone`) here or in "
            "`filter`."
        )
    )
    async def webhook_deliveries(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        endpoint_id: relay.GlobalID | None = None,
        status: str | None = None,
        filter: WebhookDeliveryFilter | None = None,
        order_by: WebhookDeliveryOrder | None = None,
    ) -> relay.Connection[WebhookDelivery]:
        delivery = tables.WebhookDelivery
        statement, ordering = listings.webhook_deliveries(
            info.context.principal.organization_id, filter, order_by
        )
        if endpoint_id is not None:
            endpoint = require_id(endpoint_id, "WebhookEndpoint", "endpointId")
            statement = statement.where(col(delivery.endpoint_id) == endpoint)
        if status is not None:
            statement = statement.where(col(delivery.status) == status)
        return await fetch_connection(
            info.context.sessions,
            (statement, ordering),
            relay.Connection[WebhookDelivery],
            WebhookDelivery.from_row,
            kind="webhook-delivery",
            id_column=col(delivery.id),
            first=first,
            after=after,
        )

    @strawberry.field(description="Your organization's webhook settings.")
    async def webhook_policy(self, info: Info) -> WebhookPolicy:
        return WebhookPolicy.from_row(await read_policy(info))
