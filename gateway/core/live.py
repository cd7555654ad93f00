"""What every subscription shares: admission, following notices, loading what they name.

Each subscription follows its organization's notices through the process's `LiveHub`,
keeps those its arguments select, and loads every delivered object through fresh,
organization-scoped loaders, so a subscriber reads exactly what a query would show at that
moment and never another organization's row. Delivery is at most once; see
`docs/subscriptions.md`.
"""

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TypeVar

from pydantic import ValidationError

from gateway.auth import AuthError
from gateway.core.context import GatewayContext, Info
from gateway.core.errors import GatewayError
from gateway.core.reads import Loaders
from gateway.core.websocket_admission import SOCKET_ONLY, admit, refusal
from gateway.live_hub import Accept, LiveUnavailableError
from libs.messaging import live

log = logging.getLogger(__name__)

T = TypeVar("T")

# Notices already waiting are loaded together, in one query per table, up to this many.
DELIVERY_BATCH = 100

Deliver = Callable[[Loaders, Sequence[live.Notice]], Awaitable[list[T]]]


def facts_or_none(
    read: Callable[[live.Notice], T], notice: live.Notice, kind: live.LiveKind
) -> T | None:
    """Return the facts of a notice of `kind`; None for another kind or malformed facts."""
    if notice.kind is not kind:
        return None
    try:
        return read(notice)
    except ValidationError:
        log.warning("ignored a %s notice with malformed facts: %s", kind.value, notice.id)
        return None


async def start(info: Info) -> GatewayContext:
    """Admit a new subscription: the key is checked again and counted like a request."""
    context = info.context
    if not context.websocket or context.hub is None:
        raise GatewayError(SOCKET_ONLY)
    await admit(context)
    return context


async def require_visible(
    load: Callable[[Info, uuid.UUID], Awaitable[object | None]],
    info: Info,
    id_: uuid.UUID | None,
    what: str,
    argument: str,
) -> None:
    """Refuse an id the caller cannot read, rather than wait forever on it."""
    if id_ is not None and await load(info, id_) is None:
        raise GatewayError(f"`{argument}` names no {what} of your organization.")


async def follow(context: GatewayContext, accept: Accept, deliver: Deliver[T]) -> AsyncIterator[T]:
    """Yield what `deliver` loads for each accepted notice, until the client stops."""
    assert context.hub is not None, "checked by start"
    try:
        async with context.hub.listen(context.principal.organization_id, accept) as feed:
            while True:
                notices = await feed.take(DELIVERY_BATCH)
                try:
                    await context.recheck()
                except AuthError as exc:
                    raise refusal(exc) from exc
                for item in await deliver(context.fresh_loaders(), notices):
                    yield item
    except LiveUnavailableError as exc:
        raise GatewayError("Live updates are unavailable right now; try again shortly.") from exc
