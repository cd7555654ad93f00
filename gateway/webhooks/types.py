"""Webhook endpoints, their delivery log and the organization's policy, as integrators read them.

Where an endpoint points, why it was disabled, its secret rotation, and what a delivery
carried and got back are admin-only (`ADMIN_ONLY`): they describe the organization's
integrations and the receivers behind them, which a read-only or responder key has no need
to know. Every key that may read sees the rest (names, kinds, status, attempts, status
codes), enough to tell whether the alerts go out.

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
from gateway.core.enums import (
    EndpointKind,
    EventType,
    WebhookDeliveryState,
    WebhookEndpointState,
)
from gateway.core.errors import REMOVAL, ForbiddenError
from gateway.core.nodes import LoadedNode
from gateway.core.reads import ById
from gateway.core.rows import from_columns, optional
from gateway.webhooks.loaders import DELIVERIES, ENDPOINTS
from libs.contracts.enums import Role
from libs.database import tables
from libs.privacy import mask_text, mask_value

SHOWN_TAIL = 4
DELIVERY_STATUSES = ("pending", "succeeded", "failed", "gone")
ADMIN_ONLY = " Admin only."


def admin_only(info: Info, what: str) -> None:
    """Raise ForbiddenError unless the caller's key is an admin key (security finding 9)."""
    role = info.context.principal.role
    if role is not Role.ADMIN:
        raise ForbiddenError(
            f"A key with role `{role.value}` may not read {what}; use an admin key."
        )


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
    event_types: list[EventType]
    status: str = strawberry.field(
        description="`active`, or `disabled` after sustained failure (see `disabledReason`).",
        deprecation_reason=f"Use `state`; {REMOVAL}",
    )
    failing_since: datetime | None = strawberry.field(
        description="Since when deliveries have failed without a success; null when healthy."
    )
    created_at: datetime
    updated_at: datetime
    shown_url: strawberry.Private[str]
    stored_disabled_reason: strawberry.Private[str | None]
    stored_secret_expiry: strawberry.Private[datetime | None]

    @strawberry.field(
        description="ACTIVE, or DISABLED after sustained failure (see `disabledReason`)."
    )
    def state(self) -> WebhookEndpointState:
        return WebhookEndpointState(self.status)

    @strawberry.field(
        description=(
            "The destination with credentials in it masked, e.g. `access_token=***3f9a`."
            + ADMIN_ONLY
        )
    )
    def url(self, info: Info) -> str:
        admin_only(info, "an endpoint's URL")
        return self.shown_url

    @strawberry.field(
        description="Why the endpoint was disabled, with the last failure." + ADMIN_ONLY
    )
    def disabled_reason(self, info: Info) -> str | None:
        admin_only(info, "why an endpoint was disabled")
        return self.stored_disabled_reason

    @strawberry.field(
        description=(
            "During a secret rotation, until when the old secret still signs too." + ADMIN_ONLY
        )
    )
    def previous_secret_expires_at(self, info: Info) -> datetime | None:
        admin_only(info, "an endpoint's secret rotation")
        return self.stored_secret_expiry

    @classmethod
    def from_row(cls, row: tables.WebhookEndpoint) -> Self:
        """Build from a webhook_endpoint row loaded without its secrets."""
        kind = EndpointKind(row.kind)
        return from_columns(
            cls,
            row,
            kind=kind,
            event_types=[EventType(value) for value in row.event_types],
            shown_url=displayed_url(kind, row.url),
            stored_disabled_reason=row.disabled_reason,
            stored_secret_expiry=row.previous_secret_expires_at,
        )


@strawberry.type(description="One event for one endpoint: its attempts and last answer.")
class WebhookDelivery(LoadedNode):
    ROWS = DELIVERIES

    event_id: uuid.UUID = strawberry.field(
        description="The `webhook-id` header: the same on every attempt and redelivery."
    )
    event_type: EventType
    status: str = strawberry.field(
        description=(
            "`pending` while attempts remain, `succeeded`, `failed` when retries ran out, "
            "or `gone` when the receiver answered 410 Gone (never retried)."
        ),
        deprecation_reason=f"Use `state`; {REMOVAL}",
    )
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime
    updated_at: datetime
    endpoint_id: strawberry.Private[uuid.UUID]
    stored_payload: strawberry.Private[JSON]
    stored_error: strawberry.Private[str | None]

    @strawberry.field(
        description=(
            "PENDING while attempts remain, SUCCEEDED, FAILED when retries ran out, or GONE "
            "when the receiver answered 410 Gone (never retried)."
        )
    )
    def state(self) -> WebhookDeliveryState:
        return WebhookDeliveryState(self.status)

    @strawberry.field(description="The event as sent, personal data masked." + ADMIN_ONLY)
    def payload(self, info: Info) -> JSON:
        admin_only(info, "a delivery's payload")
        return self.stored_payload

    @strawberry.field(
        description=(
            "Why the last attempt failed, in our words: the status and a fixed reason, never "
            "the receiver's answer." + ADMIN_ONLY
        )
    )
    def last_error(self, info: Info) -> str | None:
        admin_only(info, "a delivery's last error")
        return self.stored_error

    @strawberry.field(description="The endpoint the delivery is for.")
    async def endpoint(self, info: Info) -> WebhookEndpoint | None:
        return await WebhookEndpoint.load(info, self.endpoint_id)

    @classmethod
    def from_row(cls, row: tables.WebhookDelivery) -> Self:
        """Build from a webhook_delivery row."""
        return from_columns(
            cls,
            row,
            event_type=EventType(row.event_type),
            stored_payload=JSON(mask_value(row.payload)),
            stored_error=optional(mask_text)(row.last_error),
        )


@strawberry.type(description="Your organization's webhook settings.")
class WebhookPolicy:
    allow_private_destinations: bool = strawberry.field(
        description=(
            "Always false: which private networks webhooks may reach is the deployment "
            "operator's setting, the same for every organization."
        ),
        deprecation_reason=(
            "Private destinations are an operator setting (CRISISWATCH_WEBHOOK_PRIVATE_CIDRS); "
            f"this field is always false; {REMOVAL}"
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
