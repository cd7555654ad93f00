"""Risk signals as analysis stores them, for one watchlist or all, from a tier up."""

# strawberry types `subscription(description=...)` as returning Any, so its decorators
# are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Annotated

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.enums import Tier
from gateway.core.inputs import optional_id
from gateway.core.live import facts_or_none, follow, require_visible, start
from gateway.core.predicates import parse_tier
from gateway.core.reads import Loaders
from gateway.live_hub import Accept
from gateway.signals.loaders import SIGNALS
from gateway.signals.types import RiskSignal
from gateway.watchlists.types import Watchlist
from libs.messaging import live


def _accept(watchlist_id: uuid.UUID | None, min_tier: Tier | None) -> Accept:
    def accept(notice: live.Notice) -> bool:
        facts = facts_or_none(live.SignalFacts.of, notice, live.LiveKind.SIGNAL)
        if facts is None:
            return False
        if watchlist_id is not None and facts.watchlist_id != watchlist_id:
            return False
        if min_tier is None:
            return True
        tier = parse_tier(facts.tier)
        return tier is not None and tier.rank >= min_tier.rank

    return accept


async def _deliver(loaders: Loaders, notices: Sequence[live.Notice]) -> list[RiskSignal]:
    rows = await loaders.of(SIGNALS).load_many([n.id for n in notices])
    return [RiskSignal.from_row(row) for row in rows if row is not None]


@strawberry.type
class SignalSubscription:
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
        watched = optional_id(watchlist_id, "Watchlist", "watchlistId")
        context = await start(info)
        await require_visible(Watchlist.load, info, watched, "watchlist", "watchlistId")
        return follow(context, _accept(watched, min_tier), _deliver)
