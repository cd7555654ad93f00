"""The organization's endpoints, delivery log and webhook policy; never a secret."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from typing import Annotated

import strawberry
from sqlmodel import col
from strawberry import relay

from gateway.core.context import Info
from gateway.core.enums import EventType, WebhookDeliveryState
from gateway.core.errors import REMOVAL
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
        delivery.status,
        DELIVERY_STATUSES,
        "`pending`, `succeeded`, `failed` or `gone`. Not together with `state`, which replaces it.",
        deprecation_reason=f"Use `state`; {REMOVAL}",
    )
    state: WebhookDeliveryState | None = equals(
        delivery.status,
        "PENDING, SUCCEEDED, FAILED or GONE. Giving the deprecated `status` too is refused "
        "(InvalidInput).",
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
        "status": (
            Annotated[
                str | None,
                strawberry.argument(
                    description="`pending`, `succeeded`, `failed` or `gone`.",
                    deprecation_reason=f"Use `state`; {REMOVAL}",
                ),
            ],
            equals(delivery.status),
        ),
        "state": (
            Annotated[
                WebhookDeliveryState | None,
                strawberry.argument(
                    description="Only deliveries in this state; not with the deprecated `status`."
                ),
            ],
            equals(delivery.status),
        ),
    },
    noun="the delivery log",
    replaced={"status": "state"},
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
        "endpoint or one `state` here or in `filter`. The deprecated `status` given beside "
        "`state` (both as arguments, or both in `filter`) is refused with InvalidInput."
    )

    @strawberry.field(description="Your organization's webhook settings.")
    async def webhook_policy(self, info: Info) -> WebhookPolicy:
        return WebhookPolicy.from_row(await read_policy(info))
