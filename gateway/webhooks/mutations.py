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
from strawberry import relay

from gateway.core.commands import (
    Change,
    Target,
    answered_id,
    perform,
    read_back,
    reread,
    within_quota,
)
from gateway.core.context import Info
from gateway.core.enums import EndpointKind, EventType
from gateway.core.errors import (
    REMOVAL,
    AnyRefusal,
    Conflict,
    GatewayError,
    QuotaExceeded,
    or_why_not,
    superseded_by,
)
from gateway.core.inputs import input_fields
from gateway.webhooks.loaders import NO_SECRETS, read_policy
from gateway.webhooks.types import WebhookDelivery, WebhookEndpoint, WebhookPolicy
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

MANAGE = "manage webhooks"
# The notify service names the object a mutation takes as `id` by its own field name.
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
    WebhookEndpointCreated | AnyRefusal | QuotaExceeded,
    or_why_not("CreateWebhookEndpointResult", "The endpoint"),
]
EndpointResult = Annotated[
    WebhookEndpoint | AnyRefusal, or_why_not("WebhookEndpointResult", "The endpoint")
]
RotateSecretResult = Annotated[
    WebhookSecretRotated | AnyRefusal, or_why_not("RotateWebhookSecretResult", "The new secret")
]
DeleteEndpointResult = Annotated[
    WebhookEndpointDeleted | AnyRefusal, or_why_not("DeleteWebhookEndpointResult", "The deletion")
]
DeliveryResult = Annotated[
    WebhookDelivery | AnyRefusal, or_why_not("WebhookDeliveryResult", "The delivery")
]
PolicyResult = Annotated[
    WebhookPolicy | AnyRefusal, or_why_not("WebhookPolicyResult", "The policy")
]


@strawberry.input(description="A new endpoint and the events it wants.")
class CreateWebhookEndpointInput:
    name: str
    url: str = strawberry.field(
        description=(
            "HTTPS destination; private and reserved addresses are refused unless the "
            "deployment's operator lists their network (then plain http is accepted there too)."
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


@strawberry.input(description="The endpoint whose signing secret to replace.")
class WebhookEndpointRotateSecretInput:
    id: relay.GlobalID
    overlap_hours: int = strawberry.field(
        default=24, description="How long the old secret keeps signing too, 0 to 168 hours."
    )


@strawberry.input(description="The endpoint to remove.")
class WebhookEndpointDeleteInput:
    id: relay.GlobalID


@strawberry.input(description="The logged delivery to send again.")
class WebhookDeliveryResendInput:
    id: relay.GlobalID


ROTATED = (
    "Issue a new signing secret; the old one keeps signing too for `overlapHours` (0 to 168), "
    "so receivers can switch without missing a delivery. Admin keys only."
)
DELETED = "Remove an endpoint; its pending deliveries stop. Admin keys only."
RESENT = (
    "Send a logged delivery again now, whatever its state, with the same `webhook-id`; admin "
    "keys only."
)

ENDPOINT = Target(
    tables.WebhookEndpoint,
    "WebhookEndpoint",
    "webhook endpoint",
    "endpoint_id",
    manage=MANAGE,
    options=NO_SECRETS,
)
DELIVERY = Target(
    tables.WebhookDelivery, "WebhookDelivery", "webhook delivery", "delivery_id", manage=MANAGE
)


async def _read_endpoint(info: Info, endpoint_id: uuid.UUID) -> tables.WebhookEndpoint:
    return await read_back(
        info,
        tables.WebhookEndpoint,
        endpoint_id,
        lambda row: row,
        "Webhook endpoint",
        options=NO_SECRETS,
    )


def _answered_endpoint_id(result: CommandResult) -> uuid.UUID:
    """Return the id of the endpoint the notify service answered with (`endpoint.id`)."""
    described = result.data.get("endpoint")
    if isinstance(described, dict) and "id" in described:
        return answered_id(CommandResult.success(**described))
    return answered_id(result)


def _secret(result: CommandResult) -> str | None:
    """Return the secret the answer shows this once (sealed on the queue, opened by `call`)."""
    return result.once.get("secret") or None


def _shown_before(result: CommandResult, endpoint_id: uuid.UUID, what: str) -> Conflict | None:
    """Say so when the answer is a replay whose secret was shown once and is not kept.

    Only a copy of the same command gets a replay (its first answer was lost on the way),
    and the service does not issue a second secret for it: the client is told to rotate.
    """
    if "secret" not in result.withheld:
        return None
    return Conflict(
        message=(
            f"The signing secret of webhook endpoint {endpoint_id} was {what} by an earlier "
            "delivery of this request and is shown only once; it cannot be shown again. "
            "Rotate the secret to get a new one."
        ),
        field="secret",
    )


async def _rotated(
    info: Info, endpoint: tables.WebhookEndpoint, result: CommandResult
) -> WebhookSecretRotated | Conflict:
    """Answer the new secret, shown this once, with the endpoint read back."""
    if (shown := _shown_before(result, endpoint.id, "issued")) is not None:
        return shown
    row = await _read_endpoint(info, endpoint.id)
    secret = _secret(result)
    if secret is None:
        raise GatewayError(
            f"The new secret of webhook endpoint {endpoint.id} was changed but cannot be read back."
        )
    return WebhookSecretRotated(
        endpoint=WebhookEndpoint.from_row(row),
        secret=secret,
        previous_secret_expires_at=row.previous_secret_expires_at,
    )


async def _deleted(
    info: Info, endpoint: tables.WebhookEndpoint, result: CommandResult
) -> WebhookEndpointDeleted:
    return WebhookEndpointDeleted(
        deleted_id=relay.GlobalID("WebhookEndpoint", str(endpoint.id)), database_id=endpoint.id
    )


async def _created(info: Info, result: CommandResult) -> WebhookEndpointCreated | Conflict:
    """Answer the new endpoint read back, with its secret shown this once."""
    endpoint_id = _answered_endpoint_id(result)
    if (shown := _shown_before(result, endpoint_id, "created with the endpoint")) is not None:
        return shown
    row = await _read_endpoint(info, endpoint_id)
    return WebhookEndpointCreated(endpoint=WebhookEndpoint.from_row(row), secret=_secret(result))


async def _policy(info: Info, result: CommandResult) -> WebhookPolicy:
    """Read back the organization's webhook policy."""
    return WebhookPolicy.from_row(await read_policy(info))


CHANGE = Change(
    ENDPOINT,
    reread(
        tables.WebhookEndpoint, WebhookEndpoint.from_row, "Webhook endpoint", options=NO_SECRETS
    ),
    renames=AS_ID,
)
ROTATE = Change(ENDPOINT, _rotated, renames=AS_ID)
DELETE = Change(ENDPOINT, _deleted, renames=AS_ID)
# Redelivery reuses the logged row (one per endpoint and event), so its id stays.
REDELIVER = Change(
    DELIVERY,
    reread(tables.WebhookDelivery, WebhookDelivery.from_row, "Webhook delivery"),
    renames=AS_ID,
)


@strawberry.type
class WebhookMutation:
    @strawberry.mutation(description="Register an endpoint for some event types; admin keys only.")
    async def create_webhook_endpoint(
        self, info: Info, input: CreateWebhookEndpointInput
    ) -> CreateEndpointResult:
        return await within_quota(
            perform(
                info,
                CreateWebhookEndpoint,
                _created,
                manage=MANAGE,
                **input_fields(input),
            )
        )

    @strawberry.mutation(
        description=(
            "Change an endpoint's name, URL or event types, or re-enable it; admin keys only."
        )
    )
    async def update_webhook_endpoint(
        self, info: Info, input: UpdateWebhookEndpointInput
    ) -> EndpointResult:
        fields = input_fields(input, but=("id",))
        return await CHANGE(info, input.id, UpdateWebhookEndpoint, **fields)

    @strawberry.mutation(
        description=ROTATED, deprecation_reason=superseded_by("webhookEndpointRotateSecret")
    )
    async def rotate_webhook_secret(
        self, info: Info, id: relay.GlobalID, overlap_hours: int = 24
    ) -> RotateSecretResult:
        return await ROTATE(info, id, RotateWebhookSecret, overlap_hours=overlap_hours)

    @strawberry.mutation(description=ROTATED)
    async def webhook_endpoint_rotate_secret(
        self, info: Info, input: WebhookEndpointRotateSecretInput
    ) -> RotateSecretResult:
        return await ROTATE(info, input.id, RotateWebhookSecret, overlap_hours=input.overlap_hours)

    @strawberry.mutation(
        description=DELETED, deprecation_reason=superseded_by("webhookEndpointDelete")
    )
    async def delete_webhook_endpoint(self, info: Info, id: relay.GlobalID) -> DeleteEndpointResult:
        return await DELETE(info, id, DeleteWebhookEndpoint)

    @strawberry.mutation(description=DELETED)
    async def webhook_endpoint_delete(
        self, info: Info, input: WebhookEndpointDeleteInput
    ) -> DeleteEndpointResult:
        return await DELETE(info, input.id, DeleteWebhookEndpoint)

    @strawberry.mutation(
        description=RESENT, deprecation_reason=superseded_by("webhookDeliveryResend")
    )
    async def redeliver_webhook(self, info: Info, id: relay.GlobalID) -> DeliveryResult:
        return await REDELIVER(info, id, RedeliverWebhook)

    @strawberry.mutation(description=RESENT)
    async def webhook_delivery_resend(
        self, info: Info, input: WebhookDeliveryResendInput
    ) -> DeliveryResult:
        return await REDELIVER(info, input.id, RedeliverWebhook)

    @strawberry.mutation(
        description=(
            "Formerly allowed private destinations for your organization; now `false` is "
            "accepted and changes nothing, `true` is refused (InvalidInput). Admin keys only."
        ),
        deprecation_reason=(
            "Private destinations are an operator setting (CRISISWATCH_WEBHOOK_PRIVATE_CIDRS) "
            f"for the whole deployment; an organization cannot allow them; {REMOVAL}"
        ),
    )
    async def set_webhook_policy(
        self, info: Info, allow_private_destinations: bool
    ) -> PolicyResult:
        return await perform(
            info,
            SetWebhookPolicy,
            _policy,
            manage=MANAGE,
            allow_private_destinations=allow_private_destinations,
        )
