"""Webhook management for admins: endpoints, secrets, redelivery and the destination policy.

Each is the matching command of `libs.contracts.notify`, answered by the notify service.
A signing secret appears in exactly two answers, creating an endpoint and rotating its
secret, and nowhere else.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Annotated

import strawberry
from sqlmodel import col, select
from strawberry import relay

from gateway.context import Info
from gateway.schema.commands import (
    answered_id,
    dispatch,
    fetch,
    forbidden_unless_admin,
    not_found,
    refused,
    vanished,
)
from gateway.schema.enums import EndpointKind, EventType
from gateway.schema.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from gateway.schema.queries import local_id
from gateway.schema.webhook_types import WebhookDelivery, WebhookEndpoint, WebhookPolicy
from gateway.webhook_loaders import NO_SECRETS
from libs.contracts.messages import CommandResult
from libs.contracts.notify import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetWebhookPolicy,
    UpdateWebhookEndpoint,
)
from libs.database import tables

SERVICE = "notify"
MANAGE = "manage webhooks"
AS_ID = {"endpointId": "id", "deliveryId": "id"}


@strawberry.type(description="A new endpoint and its signing secret, shown this once only.")
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    secret: str | None = strawberry.field(
        description=(
            "For `STANDARD` endpoints the generated secret (`whsec_…`) to verify signatures "
            "with; store it now, it is never shown again. Null for chat bots."
        )
    )


@strawberry.type(description="A new signing secret, shown this once only.")
class WebhookSecretRotated:
    endpoint: WebhookEndpoint
    secret: str
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="Until then deliveries carry signatures with both the old and new secret."
    )


@strawberry.type(description="The endpoint is gone and its pending deliveries stopped.")
class WebhookEndpointDeleted:
    deleted_id: relay.GlobalID
    database_id: uuid.UUID


CreateEndpointResult = Annotated[
    WebhookEndpointCreated | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("CreateWebhookEndpointResult", description="The endpoint, or why not."),
]
EndpointResult = Annotated[
    WebhookEndpoint | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("WebhookEndpointResult", description="The endpoint, or why not."),
]
RotateSecretResult = Annotated[
    WebhookSecretRotated | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("RotateWebhookSecretResult", description="The new secret, or why not."),
]
DeleteEndpointResult = Annotated[
    WebhookEndpointDeleted | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("DeleteWebhookEndpointResult", description="The deletion, or why not."),
]
DeliveryResult = Annotated[
    WebhookDelivery | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("WebhookDeliveryResult", description="The delivery, or why not."),
]
PolicyResult = Annotated[
    WebhookPolicy | NotFound | InvalidTransition | InvalidInput | Conflict | Forbidden,
    strawberry.union("WebhookPolicyResult", description="The policy, or why not."),
]


@strawberry.input(description="A new endpoint and the events it wants.")
class CreateWebhookEndpointInput:
    name: str
    url: str = strawberry.field(
        description=(
            "HTTPS destination; private, loopback and link-local addresses are refused unless "
            "your webhook policy allows them."
        )
    )
    event_types: list[EventType]
    kind: EndpointKind = EndpointKind.STANDARD
    secret: str | None = strawberry.field(
        default=None,
        description="For chat bots with signing on: the secret the platform issued.",
    )


@strawberry.input(description="Changes to an endpoint; an omitted field stays as it is.")
class UpdateWebhookEndpointInput:
    id: relay.GlobalID
    name: str | None = None
    url: str | None = None
    event_types: list[EventType] | None = None
    enabled: bool | None = strawberry.field(
        default=None, description="True re-enables an endpoint disabled after failures."
    )


async def _read_endpoint(
    info: Info, endpoint_id: uuid.UUID | None
) -> tables.WebhookEndpoint | None:
    """Read an endpoint of the caller's organization afresh, never loading its secrets."""
    if endpoint_id is None:
        return None
    statement = (
        select(tables.WebhookEndpoint)
        .where(
            col(tables.WebhookEndpoint.id) == endpoint_id,
            col(tables.WebhookEndpoint.organization_id) == info.context.principal.organization_id,
        )
        .options(*NO_SECRETS)
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()


def _answered_endpoint_id(result: CommandResult) -> uuid.UUID:
    """Return the id of the endpoint the notify service answered with (`endpoint.id`)."""
    described = result.data.get("endpoint")
    if isinstance(described, dict) and "id" in described:
        return answered_id(CommandResult.success(**described))
    return answered_id(result)


def _secret(result: CommandResult) -> str | None:
    secret = result.data.get("secret")
    return str(secret) if secret else None


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Register an endpoint for some event types; admin keys only.")
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateEndpointResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        result = await dispatch(
            info,
            CreateWebhookEndpoint,
            name=input.name,
            kind=input.kind,
            url=input.url,
            event_types=input.event_types,
            secret=input.secret,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE)
        endpoint_id = _answered_endpoint_id(result)
        row = await _read_endpoint(info, endpoint_id)
        if row is None:
            raise vanished("Webhook endpoint", endpoint_id)
        return WebhookEndpointCreated(
            endpoint=WebhookEndpoint.from_row(row), secret=_secret(result)
        )

    @strawberry.mutation(
        description=(
            "Change an endpoint's name, URL or event types, or re-enable it; admin keys only."
        )
    )
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> EndpointResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        endpoint = await _read_endpoint(info, local_id(input.id, "WebhookEndpoint"))
        if endpoint is None:
            return not_found("webhook endpoint", input.id)
        result = await dispatch(
            info,
            UpdateWebhookEndpoint,
            endpoint_id=endpoint.id,
            name=input.name,
            url=input.url,
            event_types=input.event_types,
            enabled=input.enabled,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE, renames=AS_ID)
        row = await _read_endpoint(info, endpoint.id)
        if row is None:
            raise vanished("Webhook endpoint", endpoint.id)
        return WebhookEndpoint.from_row(row)

    @strawberry.mutation(
        description=(
            "Issue a new signing secret; the old one keeps signing too for `overlapHours` "
            "(0 to 168), so receivers can switch without missing a delivery. Admin keys only."
        )
    )
    async def rotate_webhook_secret(
        self, info: Info, id: relay.GlobalID, overlap_hours: int = 24
    ) -> RotateSecretResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        endpoint = await _read_endpoint(info, local_id(id, "WebhookEndpoint"))
        if endpoint is None:
            return not_found("webhook endpoint", id)
        result = await dispatch(
            info,
            RotateWebhookSecret,
            endpoint_id=endpoint.id,
            overlap_hours=overlap_hours,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE, renames=AS_ID)
        secret = _secret(result)
        row = await _read_endpoint(info, endpoint.id)
        if row is None:
            raise vanished("Webhook endpoint", endpoint.id)
        if secret is None:
            raise vanished("The new secret of webhook endpoint", endpoint.id)
        return WebhookSecretRotated(
            endpoint=WebhookEndpoint.from_row(row),
            secret=secret,
            previous_secret_expires_at=row.previous_secret_expires_at,
        )

    @strawberry.mutation(
        description="Remove an endpoint; its pending deliveries stop. Admin keys only."
    )
    async def delete_webhook_endpoint(self, info: Info, id: relay.GlobalID) -> DeleteEndpointResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        endpoint = await _read_endpoint(info, local_id(id, "WebhookEndpoint"))
        if endpoint is None:
            return not_found("webhook endpoint", id)
        result = await dispatch(
            info,
            DeleteWebhookEndpoint,
            endpoint_id=endpoint.id,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE, renames=AS_ID)
        return WebhookEndpointDeleted(
            deleted_id=relay.GlobalID("WebhookEndpoint", str(endpoint.id)),
            database_id=endpoint.id,
        )

    @strawberry.mutation(
        description=(
            "Send a logged delivery again now, whatever its state, with the same `webhook-id`; "
            "admin keys only."
        )
    )
    async def redeliver_webhook(self, info: Info, id: relay.GlobalID) -> DeliveryResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        delivery = await fetch(info, tables.WebhookDelivery, local_id(id, "WebhookDelivery"))
        if delivery is None:
            return not_found("webhook delivery", id)
        result = await dispatch(
            info,
            RedeliverWebhook,
            delivery_id=delivery.id,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE, renames=AS_ID)
        # Redelivery reuses the logged row (one per endpoint and event), so its id stays.
        row = await fetch(info, tables.WebhookDelivery, delivery.id)
        if row is None:
            raise vanished("Webhook delivery", delivery.id)
        return WebhookDelivery.from_row(row)

    @strawberry.mutation(
        description=(
            "Allow or refuse endpoints on private, loopback and link-local addresses for your "
            "organization; admin keys only."
        )
    )
    async def set_webhook_policy(
        self, info: Info, allow_private_destinations: bool
    ) -> PolicyResult:
        if (refusal := forbidden_unless_admin(info, MANAGE)) is not None:
            return refusal
        result = await dispatch(
            info,
            SetWebhookPolicy,
            allow_private_destinations=allow_private_destinations,
        )
        if isinstance(result, InvalidInput):
            return result
        if not result.ok:
            return refused(result, service=SERVICE)
        return WebhookPolicy.from_row(await read_policy(info))


async def read_policy(info: Info) -> tables.WebhookPolicy | None:
    """Read the organization's webhook policy row, None when it never set one."""
    statement = select(tables.WebhookPolicy).where(
        col(tables.WebhookPolicy.organization_id) == info.context.principal.organization_id
    )
    async with info.context.sessions() as session:
        return (await session.exec(statement)).one_or_none()
