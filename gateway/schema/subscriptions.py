"""Live fields over graphql-transport-ws: risk signals, incident changes, analysed mentions.

Each subscription follows its organization's notices through the process's `LiveHub`,
keeps those its arguments select, and loads every delivered object through fresh,
organization-scoped loaders, so a subscriber reads exactly what a query would show at that
moment and never another organization's row. Delivery is at most once; see
`docs/subscriptions.md`.
"""

# strawberry types `subscription(description=...)` as returning Any, so its decorators
# are untyped.
# mypy: disable-error-code="untyped-decorator"

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, TypeVar

import strawberry
from pydantic import ValidationError
from strawberry import relay

from gateway.auth import AuthError
from gateway.context import GatewayContext, Info
from gateway.live_hub import Accept, LiveUnavailableError
from gateway.loaders import Loaders
from gateway.schema.enums import Tier
from gateway.schema.errors import GatewayError
from gateway.schema.filters import MentionFilter, require_id
from gateway.schema.live_filters import MentionMatch
from gateway.schema.types import Incident, Mention, RiskSignal, TimelineEvent, parse_tier
from gateway.schema.websocket_admission import SOCKET_ONLY, admit, refusal
from libs.messaging import live

log = logging.getLogger(__name__)

T = TypeVar("T")

# Notices already waiting are loaded together, in one query per table, up to this many.
DELIVERY_BATCH = 100

Deliver = Callable[[Loaders, Sequence[live.Notice]], Awaitable[list[T]]]


@strawberry.type(description="One change to an incident, delivered as it is committed.")
class IncidentUpdate:
    incident: Incident = strawberry.field(description="The incident as it is now.")
    change: str = strawberry.field(
        description=(
            "What changed: the kind of the timeline event that recorded it, e.g. opened, "
            "signal, tier_changed, status_changed, task_done, task_overdue, member_assigned."
        )
    )
    at: datetime = strawberry.field(description="When the change happened.")
    event_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The timeline event that recorded the change.")
    async def event(self, info: Info) -> TimelineEvent | None:
        row = await info.context.loaders.events.load(self.event_id)
        return TimelineEvent.from_row(row) if row is not None else None


def _facts_or_none(
    read: Callable[[live.Notice], T], notice: live.Notice, kind: live.LiveKind
) -> T | None:
    if notice.kind is not kind:
        return None
    try:
        return read(notice)
    except ValidationError:
        log.warning("ignored a %s notice with malformed facts: %s", kind.value, notice.id)
        return None


def _signals_accept(watchlist_id: uuid.UUID | None, min_tier: Tier | None) -> Accept:
    def accept(notice: live.Notice) -> bool:
        facts = _facts_or_none(live.SignalFacts.of, notice, live.LiveKind.SIGNAL)
        if facts is None:
            return False
        if watchlist_id is not None and facts.watchlist_id != watchlist_id:
            return False
        if min_tier is None:
            return True
        tier = parse_tier(facts.tier)
        return tier is not None and tier.rank >= min_tier.rank

    return accept


def _incidents_accept(incident_id: uuid.UUID | None) -> Accept:
    def accept(notice: live.Notice) -> bool:
        facts = _facts_or_none(live.IncidentFacts.of, notice, live.LiveKind.INCIDENT)
        return facts is not None and (incident_id is None or notice.id == incident_id)

    return accept


def _mentions_accept(match: MentionMatch) -> Accept:
    def accept(notice: live.Notice) -> bool:
        facts = _facts_or_none(live.MentionFacts.of, notice, live.LiveKind.MENTION)
        return facts is not None and match.may_match(facts)

    return accept


async def _deliver_signals(loaders: Loaders, notices: Sequence[live.Notice]) -> list[RiskSignal]:
    rows = await loaders.signals.load_many([n.id for n in notices])
    return [RiskSignal.from_row(row) for row in rows if row is not None]


def _mention_delivery(match: MentionMatch) -> Deliver[Mention]:
    async def deliver(loaders: Loaders, notices: Sequence[live.Notice]) -> list[Mention]:
        ids = [n.id for n in notices]
        rows = await loaders.mentions.load_many(ids)
        # Loaded for the filter, and cached for `analysis { … }`, the field a live list
        # shows, which then costs no query per mention.
        analyses = await loaders.analyses.load_many(ids)
        return [
            Mention.from_row(row)
            for row, analysis in zip(rows, analyses, strict=True)
            if row is not None and match.matches(row, analysis)
        ]

    return deliver


async def _deliver_incidents(
    loaders: Loaders, notices: Sequence[live.Notice]
) -> list[IncidentUpdate]:
    rows = await loaders.incidents.load_many(list(dict.fromkeys(n.id for n in notices)))
    incidents = {row.id: Incident.from_row(row) for row in rows if row is not None}
    updates = []
    for notice in notices:
        incident = incidents.get(notice.id)
        if incident is None:
            continue
        facts = live.IncidentFacts.of(notice)
        updates.append(
            IncidentUpdate(
                incident=incident, change=facts.change, at=facts.at, event_id=facts.event_id
            )
        )
    await loaders.events.load_many([u.event_id for u in updates])
    return updates


async def _follow(context: GatewayContext, accept: Accept, deliver: Deliver[T]) -> AsyncIterator[T]:
    """Yield what `deliver` loads for each accepted notice, until the client stops."""
    assert context.hub is not None, "checked by _start"
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


async def _start(info: Info) -> GatewayContext:
    """Admit a new subscription: the key is checked again and counted like a request."""
    context = info.context
    if not context.websocket or context.hub is None:
        raise GatewayError(SOCKET_ONLY)
    await admit(context)
    return context


def _local(global_id: relay.GlobalID | None, type_name: str, field: str) -> uuid.UUID | None:
    return require_id(global_id, type_name, field) if global_id is not None else None


async def _require(
    load: Callable[[uuid.UUID], Awaitable[object | None]],
    id_: uuid.UUID | None,
    what: str,
    argument: str,
) -> None:
    """Refuse an id the caller cannot read, rather than wait forever on it."""
    if id_ is not None and await load(id_) is None:
        raise GatewayError(f"`{argument}` names no {what} of your organization.")


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description=(
            "Risk signals as analysis stores them: every tier decision, including a drop "
            "below blue (tier null) unless `minTier` is given."
        )
    )
    async def risk_signals(
        self,
        info: Info,
        watchlist_id: Annotated[
            relay.GlobalID | None, strawberry.argument(description="Only this watchlist's signals.")
        ] = None,
        min_tier: Annotated[
            Tier | None, strawberry.argument(description="Only signals at this tier or above.")
        ] = None,
    ) -> AsyncIterator[RiskSignal]:
        watched = _local(watchlist_id, "Watchlist", "watchlistId")
        context = await _start(info)
        await _require(context.loaders.watchlists.load, watched, "watchlist", "watchlistId")
        return _follow(context, _signals_accept(watched, min_tier), _deliver_signals)

    @strawberry.subscription(
        description=(
            "Changes to incidents as the incidents service commits them: one update per "
            "timeline event (opened, tier or status changed, task done or overdue…)."
        )
    )
    async def incident_updates(
        self,
        info: Info,
        incident_id: Annotated[
            relay.GlobalID | None,
            strawberry.argument(description="Only this incident; all of yours if omitted."),
        ] = None,
    ) -> AsyncIterator[IncidentUpdate]:
        followed = _local(incident_id, "Incident", "incidentId")
        context = await _start(info)
        await _require(context.loaders.incidents.load, followed, "incident", "incidentId")
        return _follow(context, _incidents_accept(followed), _deliver_incidents)

    @strawberry.subscription(
        description=(
            "Mentions as analysis finishes them; `filter` selects as in the `mentions` query "
            "(since/until compare the time the mention was posted)."
        )
    )
    async def mentions(
        self, info: Info, filter: MentionFilter | None = None
    ) -> AsyncIterator[Mention]:
        match = MentionMatch.of(filter)
        context = await _start(info)
        await _require(
            context.loaders.watchlists.load, match.watchlist_id, "watchlist", "filter.watchlistId"
        )
        await _require(context.loaders.stories.load, match.story_id, "story", "filter.storyId")
        return _follow(context, _mentions_accept(match), _mention_delivery(match))
