"""Endpoint commands: register, change, rotate, remove, redeliver.

Every handler looks rows up within the command's organization, so another organization's
endpoint or delivery is simply not found. A secret leaves this module in clear exactly
once, as what the answer to the command that issued it shows once (`CommandResult.once`:
sealed on its way to the sender, never kept on the receipt); what is stored is ciphertext. The
lookups and checks the handlers share raise `Refused` (see `libs.contracts.refusals`).
"""

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import EndpointKind
from libs.contracts.messages import CommandResult, ErrorCode, not_found
from libs.contracts.notify import (
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    RotateWebhookSecret,
    UpdateWebhookEndpoint,
)
from libs.contracts.refusals import Refused
from libs.database.tables import WebhookDelivery, WebhookEndpoint
from libs.ids import new_id
from libs.privacy import DataKey
from libs.quotas import ENDPOINTS, room_for_one_more
from services.notify import repository
from services.notify.endpoints import webhook_secrets
from services.notify.endpoints.destinations import (
    NO_PRIVATE_NETWORKS,
    DestinationError,
    PrivateNetworks,
    check_url,
)
from services.notify.repository import ACTIVE, DISABLED, PENDING


def describe(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """Return what a client may see of an endpoint: everything but its secrets."""
    return {
        "id": str(endpoint.id),
        "name": endpoint.name,
        "kind": endpoint.kind,
        "url": endpoint.url,
        "event_types": list(endpoint.event_types),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": _iso(endpoint.failing_since),
        "has_secret": bool(endpoint.secret_cipher),
        "previous_secret_expires_at": _iso(endpoint.previous_secret_expires_at),
        "created_at": _iso(endpoint.created_at),
        "updated_at": _iso(endpoint.updated_at),
    }


def describe_delivery(delivery: WebhookDelivery) -> dict[str, Any]:
    """Return a delivery log entry as a client sees it."""
    return {
        "id": str(delivery.id),
        "endpoint_id": str(delivery.endpoint_id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "delivered_at": _iso(delivery.delivered_at),
    }


async def create_endpoint(
    session: AsyncSession,
    command: CreateWebhookEndpoint,
    key: DataKey,
    *,
    now: datetime,
    private: PrivateNetworks = NO_PRIVATE_NETWORKS,
) -> CommandResult:
    """Register an endpoint; a `standard` one gets a generated secret, answered this once.

    `private` is the operator's private networks the URL may resolve into.
    """
    if command.kind is EndpointKind.STANDARD and command.secret is not None:
        return CommandResult.failure(
            ErrorCode.INVALID,
            "standard endpoints get a generated secret; leave secret empty",
            field="secret",
        )
    await _check_destination(command.url, private)
    endpoint = WebhookEndpoint(
        id=new_id(),
        organization_id=command.organization_id,
        name=command.name.strip() or command.name,
        kind=command.kind.value,
        url=command.url.strip(),
        event_types=_unique(command.event_types),
        secret_cipher=b"",
        status=ACTIVE,
        created_at=now,
        updated_at=now,
    )
    issued: str | None = None
    if command.kind is EndpointKind.STANDARD:
        issued = webhook_secrets.generate_secret()
        endpoint.secret_cipher = webhook_secrets.seal(key, endpoint, issued)
    elif command.secret:
        # A chat bot's signing secret is issued by its platform; we only keep it.
        endpoint.secret_cipher = webhook_secrets.seal(key, endpoint, command.secret.strip())
    await repository.save(session, endpoint)
    answer = CommandResult.success(endpoint=describe(endpoint))
    return answer.showing_once(secret=issued) if issued is not None else answer


async def over_quota(
    session: AsyncSession, organization_id: uuid.UUID, quota: int
) -> CommandResult | None:
    """Return the refusal when the organization already holds `quota` endpoints (0: none).

    Webhook endpoints and chat bots count alike: each is sent every event it wants.
    """
    return await room_for_one_more(
        session, WebhookEndpoint, organization_id, quota=ENDPOINTS, limit=quota, noun="endpoints"
    )


async def update_endpoint(
    session: AsyncSession,
    command: UpdateWebhookEndpoint,
    *,
    now: datetime,
    private: PrivateNetworks = NO_PRIVATE_NETWORKS,
) -> CommandResult:
    """Change an endpoint; enabling it again clears the failure state that disabled it."""
    endpoint = await _endpoint(session, command.organization_id, command.endpoint_id)
    if command.url is not None:
        await _check_destination(command.url, private)
        endpoint.url = command.url.strip()
    if command.name is not None:
        endpoint.name = command.name.strip() or command.name
    if command.event_types is not None:
        endpoint.event_types = _unique(command.event_types)
    if command.enabled is True:
        endpoint.status = ACTIVE
        endpoint.disabled_reason = None
        endpoint.failing_since = None
    elif command.enabled is False:
        endpoint.status = DISABLED
        endpoint.disabled_reason = f"disabled by {command.actor} at {now.isoformat()}"
    endpoint.updated_at = now
    await repository.save(session, endpoint)
    return CommandResult.success(endpoint=describe(endpoint))


async def rotate_secret(
    session: AsyncSession, command: RotateWebhookSecret, key: DataKey, *, now: datetime
) -> CommandResult:
    """Issue a new secret, answered once; the previous one keeps signing for the overlap."""
    endpoint = await _endpoint(session, command.organization_id, command.endpoint_id)
    if endpoint.kind != EndpointKind.STANDARD.value:
        return CommandResult.failure(
            ErrorCode.INVALID,
            f"{endpoint.kind} bots sign with the secret their platform issued; "
            "only standard endpoints have secrets rotated here",
            field="endpointId",
        )
    issued = webhook_secrets.generate_secret()
    if command.overlap_hours > 0:
        # The sealed previous secret is bound to this same row, so it can move as is.
        endpoint.previous_secret_cipher = endpoint.secret_cipher
        endpoint.previous_secret_expires_at = now + timedelta(hours=command.overlap_hours)
    else:
        endpoint.previous_secret_cipher = None
        endpoint.previous_secret_expires_at = None
    endpoint.secret_cipher = webhook_secrets.seal(key, endpoint, issued)
    endpoint.updated_at = now
    await repository.save(session, endpoint)
    return CommandResult.success(endpoint=describe(endpoint)).showing_once(secret=issued)


async def delete_endpoint(
    session: AsyncSession, command: DeleteWebhookEndpoint, *, now: datetime
) -> CommandResult:
    """Remove an endpoint with its delivery log; pending deliveries stop with it."""
    endpoint = await _endpoint(session, command.organization_id, command.endpoint_id)
    await repository.delete_endpoint(session, endpoint)
    return CommandResult.success(endpoint_id=str(endpoint.id), deleted_at=now.isoformat())


async def redeliver(
    session: AsyncSession, command: RedeliverWebhook, *, now: datetime
) -> CommandResult:
    """Queue a logged delivery to be sent again now, with a fresh retry schedule."""
    delivery = await repository.delivery_for_update(
        session, command.organization_id, command.delivery_id
    )
    if delivery is None:
        return not_found("delivery", command.delivery_id, "deliveryId")
    endpoint = await _endpoint(session, command.organization_id, delivery.endpoint_id)
    if endpoint.status != ACTIVE:
        return CommandResult.failure(
            ErrorCode.INVALID,
            f"endpoint {endpoint.id} is disabled ({endpoint.disabled_reason or 'no reason'}); "
            "enable it before redelivering",
            field="deliveryId",
        )
    delivery.status = PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = now
    delivery.delivered_at = None
    delivery.updated_at = now
    await repository.save(session, delivery)
    return CommandResult.success(delivery=describe_delivery(delivery))


async def _check_destination(url: str, private: PrivateNetworks) -> None:
    """Refuse, naming `url`, a destination outside the Internet and the operator's networks."""
    try:
        await check_url(url, private=private)
    except DestinationError as error:
        raise Refused(CommandResult.failure(ErrorCode.INVALID, str(error), field="url")) from None


async def _endpoint(
    session: AsyncSession, organization_id: uuid.UUID, endpoint_id: uuid.UUID
) -> WebhookEndpoint:
    """Return the organization's endpoint, locked; refuse when it has no such one."""
    endpoint = await repository.endpoint_for_update(session, organization_id, endpoint_id)
    if endpoint is None:
        raise Refused(not_found("webhook endpoint", endpoint_id, "endpointId"))
    return endpoint


def _unique(values: list[Any]) -> list[str]:
    return list(dict.fromkeys(str(getattr(value, "value", value)) for value in values))


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
