"""Commands that manage webhook and chat-alert endpoints, answered by the notify service.

They travel on the events queue, which the notify worker consumes along with the
integration events it delivers.
"""

import uuid
from typing import ClassVar

from pydantic import Field

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.messages import EVENTS_QUEUE, SEALED, Command, Message


class _NotifyCommand(Command):
    QUEUE: ClassVar[str] = EVENTS_QUEUE
    VERSION: ClassVar[int] = 1


class CreateWebhookEndpoint(_NotifyCommand):
    """Register an endpoint for some event types.

    For `standard` endpoints the service generates the signing secret and answers it once
    (`CommandResult.once`); chat bots come with the secret their platform issued (`secret`),
    when signing is on. Version 2: `secret` is sealed on the queue (`SEALED`).
    """

    NAME: ClassVar[str] = "webhook.create"
    VERSION: ClassVar[int] = 2

    name: str = Field(min_length=1, max_length=200)
    kind: EndpointKind = EndpointKind.STANDARD
    url: str = Field(min_length=1, max_length=2000)
    event_types: list[EventType] = Field(min_length=1, max_length=20)
    secret: str | None = Field(default=None, max_length=500, json_schema_extra=SEALED)


class UpdateWebhookEndpoint(_NotifyCommand):
    """Change an endpoint; `enabled` true re-enables one disabled after failures."""

    NAME: ClassVar[str] = "webhook.update"

    endpoint_id: uuid.UUID
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[EventType] | None = Field(default=None, min_length=1, max_length=20)
    enabled: bool | None = None


class RotateWebhookSecret(_NotifyCommand):
    """Issue a new signing secret; the old one keeps signing too for `overlap_hours`."""

    NAME: ClassVar[str] = "webhook.rotate_secret"

    endpoint_id: uuid.UUID
    overlap_hours: int = Field(default=24, ge=0, le=24 * 7)


class DeleteWebhookEndpoint(_NotifyCommand):
    """Remove an endpoint; its pending deliveries stop."""

    NAME: ClassVar[str] = "webhook.delete"

    endpoint_id: uuid.UUID


class RedeliverWebhook(_NotifyCommand):
    """Send a logged delivery again now, whatever its state."""

    NAME: ClassVar[str] = "webhook.redeliver"

    delivery_id: uuid.UUID


# Deprecated: `true` is refused and `false` changes nothing, since private destinations are
# the operator's setting (CRISISWATCH_WEBHOOK_PRIVATE_CIDRS). The docstring is the pinned
# contract's description, so it keeps its words.
class SetWebhookPolicy(_NotifyCommand):
    """Allow or refuse private, loopback and link-local destinations for the organization."""

    NAME: ClassVar[str] = "webhook.set_policy"

    allow_private_destinations: bool


NOTIFY_MESSAGES: tuple[type[Message], ...] = (
    CreateWebhookEndpoint,
    UpdateWebhookEndpoint,
    RotateWebhookSecret,
    DeleteWebhookEndpoint,
    RedeliverWebhook,
    SetWebhookPolicy,
)
