"""Read fields for the war room's settings and integrations: playbooks and webhooks.

Everything is limited to the caller's organization. Webhook reads never include a secret.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.schema.errors import GatewayError
from gateway.schema.pagination import DEFAULT_PAGE_SIZE, fetch_page, page_info
from gateway.schema.queries import local_id
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
            "The delivery log, newest first; narrow it to one endpoint or one status "
            "(`pending`, `succeeded`, `failed`, `gone`)."
        )
    )
    async def webhook_deliveries(
        self,
        info: Info,
        first: int | None = 20,
        after: str | None = None,
        endpoint_id: relay.GlobalID | None = None,
        status: str | None = None,
    ) -> relay.Connection[WebhookDelivery]:
        delivery = tables.WebhookDelivery
        statement = select(delivery).where(
            col(delivery.organization_id) == info.context.principal.organization_id
        )
        if endpoint_id is not None:
            endpoint = local_id(endpoint_id, "WebhookEndpoint")
            if endpoint is None:
                raise GatewayError("`endpointId` must be a WebhookEndpoint id.")
            statement = statement.where(col(delivery.endpoint_id) == endpoint)
        if status is not None:
            statement = statement.where(col(delivery.status) == status)
        page = await fetch_page(
            info.context.sessions,
            statement,
            kind="webhook-delivery",
            at_column=col(delivery.created_at),
            id_column=col(delivery.id),
            first=DEFAULT_PAGE_SIZE if first is None else first,
            after=after,
        )
        return relay.Connection[WebhookDelivery](
            page_info=page_info(page, after),
            edges=[
                relay.Edge(cursor=cursor, node=WebhookDelivery.from_row(row))
                for cursor, row in page.rows
            ],
        )

    @strawberry.field(description="Your organization's webhook settings.")
    async def webhook_policy(self, info: Info) -> WebhookPolicy:
        return WebhookPolicy.from_row(await read_policy(info))
