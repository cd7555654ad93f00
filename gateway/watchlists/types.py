"""A watchlist as clients read it, its snoozes, and the filter of watchlist lists."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime

import strawberry

from gateway.core.context import Info
from gateway.core.enums import Tier, WatchlistKind
from gateway.core.nodes import LoadedNode
from gateway.core.predicates import parse_tier
from gateway.core.rows import Stored, converted
from gateway.watchlists.loaders import IS_DRILL, WATCHLISTS
from libs.contracts.vocabulary import WATCHLIST_KIND_LABELS


@strawberry.type(
    description="A named watch rule: a boolean query over words, with dictionary keywords."
)
class Watchlist(LoadedNode):
    ROWS = WATCHLISTS
    CONVERTED = converted(current_tier=parse_tier, kind=WatchlistKind)

    name: str
    keywords: list[str] = strawberry.field(
        description="Names segmentation keeps whole (brands, products, people)."
    )
    query: str = strawberry.field(
        description=(
            "The rule that decides a match, in canonical form, e.g. "
            "`(奶粉 | 米粉) & (致癌 | 召回) & !谣言`; made from the keywords when none was given."
        )
    )
    kind: WatchlistKind = strawberry.field(
        description="Competitor and industry watchlists never open or join an incident."
    )
    current_tier: Tier | None = strawberry.field(description="Null when below blue.")
    created_at: datetime
    updated_at: datetime
    last_spike_at: datetime | None = strawberry.field(
        description="When the mention count last spiked above its baseline; null if never."
    )

    @strawberry.field(
        description=(
            "true: a drill's own watchlist (演练), which only the drill's posts reach; lists "
            "and dashboards leave these out unless asked to include drills."
        )
    )
    async def drill(self, info: Info) -> bool:
        return await info.context.loaders.of(IS_DRILL).load(self.database_id)

    @strawberry.field(description="The kind in Chinese: 本品牌, 产品线, 竞品 or 行业.")
    def kind_label(self) -> str:
        return WATCHLIST_KIND_LABELS[self.kind]


@strawberry.type(description="A watchlist silenced until a time: its signals open no incident.")
class WatchlistSnooze(Stored):
    until: datetime
    reason: str
    actor: str
    created_at: datetime
