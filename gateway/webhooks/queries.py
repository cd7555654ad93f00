"""The organization's endpoints, delivery log and webhook policy; never a secret."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry
from sqlmodel import col
from strawberry import relay

from gateway.core.context import Info
from gateway.core.enums import EventType
from gateway.core.filters import at_or_after, before, equals, names, one_of
from gateway.core.listing import Key, ListSpec, Sorting, timestamps
from gateway.core.owned import every
from gateway.webhooks.loaders import NO_SECRETS, read_policy
from gateway.webhooks.types import (
    DELIVERY_STATUSES,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookPolicy,
)
from libs.database import tables

delivery = tables.WebhookDelivery


@strawberry.input(description="Narrow the delivery log; every given condition must hold.")
class WebhookDeliveryFilter:
    endpoint_id: relay.GlobalID | None = names(delivery.endpoint_id, "WebhookEndpoint")
    status: str | None = one_of(
        delivery.status, DELIVERY_STATUSES, "`pending`, `succeeded`, `failed` or `gone`."
    )
    event_type: EventType | None = equals(delivery.event_type)
    since: datetime | None = at_or_after(delivery.created_at, "Created at or after.")
    until: datetime | None = before(delivery.created_at, "Created before.")


DELIVERY_ORDER = Sorting(
    "Sort webhook deliveries.",
    **timestamps(delivery),
    ATTEMPTS=Key(col(delivery.attempts), int),
)
DELIVERY_LIST = ListSpec(
    WebhookDelivery,
    WebhookDeliveryFilter,
    DELIVERY_ORDER,
    arguments={
        "endpoint_id": (relay.GlobalID | None, names(delivery.endpoint_id, "WebhookEndpoint")),
        "status": (str | None, equals(delivery.status)),
    },
    noun="the delivery log",
)


@strawberry.type
class WebhookQuery:
    @strawberry.field(
        description="Every webhook and chat-bot endpoint by name (code point order); no secrets."
    )
    async def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        endpoint = tables.WebhookEndpoint
        rows = await every(
            info, endpoint, col(endpoint.name).collate("C"), col(endpoint.id), options=NO_SECRETS
        )
        return [WebhookEndpoint.from_row(row) for row in rows]

    webhook_deliveries = DELIVERY_LIST.connection_field(
        "The delivery log, newest first unless `orderBy` says otherwise; narrow it to one "
        "endpoint or one status (`pending`, `succeeded`, `failed`, `gone`) here or in "
        "`filter`."
    )

    @strawberry.field(description="Your organization's webhook settings.")
    async def webhook_policy(self, info: Info) -> WebhookPolicy:
        return WebhookPolicy.from_row(await read_policy(info))
