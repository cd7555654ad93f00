"""Webhook endpoints, their delivery log and the organization's policy, as integrators read them.

No secret is ever part of a read: signing secrets are not even loaded, and credentials
carried in an endpoint's URL (query values such as a DingTalk `access_token` or a WeCom
`key`, user info, a Feishu hook's token) are masked. Payloads and errors are masked for
personal data once more on the way out. A signing secret appears in exactly two answers,
creating an endpoint and rotating its secret.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import ClassVar, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import strawberry
from strawberry.scalars import JSON

from gateway.core.context import Info
from gateway.core.enums import EndpointKind, EventType
from gateway.core.nodes import LoadedNode
from gateway.core.reads import ById
from gateway.core.rows import converted, from_columns, optional
from gateway.webhooks.loaders import DELIVERIES, ENDPOINTS
from libs.database import tables
from libs.privacy import mask_text, mask_value

SHOWN_TAIL = 4
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "gone")


def _mask_credential(value: str) -> str:
    """Keep only the last characters of a long value, enough to tell two apart."""
    if len(value) <= 3 * SHOWN_TAIL:
        return "***"
    return "***" + value[-SHOWN_TAIL:]


def displayed_url(kind: EndpointKind, url: str) -> str:
    """Return `url` with the credentials it may carry masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    if parts.username or parts.password:
        netloc = f"***@{netloc}"
    path = parts.path
    if kind is EndpointKind.FEISHU and "/" in path.rstrip("/"):
        head, _, token = path.rstrip("/").rpartition("/")
        path = f"{head}/{_mask_credential(token)}"
    query = urlencode(
        [(name, _mask_credential(value)) for name, value in parse_qsl(parts.query, True)],
        safe="*",
    )
    return urlunsplit((parts.scheme, netloc, path, query, ""))


@strawberry.type(description="Where your organization wants events: a webhook or a chat bot.")
class WebhookEndpoint(LoadedNode):
    ROWS: ClassVar[ById[tables.WebhookEndpoint]] = ENDPOINTS

    name: str
    kind: EndpointKind
    url: str = strawberry.field(
        description="The destination with credentials in it masked, e.g. `access_token=***3f9a`."
    )
    event_types: list[EventType]
    status: str = strawberry.field(
        description="`active`, or `disabled` after sustained failure (see `disabledReason`)."
    )
    disabled_reason: str | None
    failing_since: datetime | None = strawberry.field(
        description="Since when deliveries have failed without a success; null when healthy."
    )
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="During a secret rotation, until when the old secret still signs too."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: tables.WebhookEndpoint) -> Self:
        """Build from a webhook_endpoint row loaded without its secrets."""
        kind = EndpointKind(row.kind)
        return from_columns(
            cls,
            row,
            kind=kind,
            url=displayed_url(kind, row.url),
            event_types=[EventType(value) for value in row.event_types],
        )


@strawberry.type(description="One event for one endpoint: its attempts and last answer.")
class WebhookDelivery(LoadedNode):
    ROWS = DELIVERIES
    CONVERTED = converted(
        event_type=EventType,
        payload=lambda payload: JSON(mask_value(payload)),
        last_error=optional(mask_text),
    )

    event_id: uuid.UUID = strawberry.field(
        description="The `webhook-id` header: the same on every attempt and redelivery."
    )
    event_type: EventType
    payload: JSON
    status: str = strawberry.field(
        description=(
            "`pending` while attempts remain, `succeeded`, `failed` when retries ran out, "
            "or `gone` when the receiver answered 410 Gone (never retried)."
        )
    )
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    endpoint_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The endpoint the delivery is for.")
    async def endpoint(self, info: Info) -> WebhookEndpoint | None:
        return await WebhookEndpoint.load(info, self.endpoint_id)


@strawberry.type(description="Your organization's webhook settings.")
class WebhookPolicy:
    allow_private_destinations: bool = strawberry.field(
        description=(
            "Always false: which private networks webhooks may reach is the deployment "
            "operator's setting, the same for every organization."
        ),
        deprecation_reason=(
            "Private destinations are an operator setting (CRISISWATCH_WEBHOOK_PRIVATE_CIDRS); "
            "this field is always false."
        ),
    )
    updated_at: datetime | None = strawberry.field(description="Null while never changed.")

    @classmethod
    def from_row(cls, row: tables.WebhookPolicy | None) -> Self:
        """Build from the policy row, or the default when the organization has none.

        A flag stored true before private destinations became the operator's setting grants
        nothing, so it reads false.
        """
        return cls(allow_private_destinations=False, updated_at=row.updated_at if row else None)
