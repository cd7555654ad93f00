"""A risk signal as clients read it: tier, score, reasons, forecast, story and top mentions."""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from typing import Any, Self

import strawberry
from strawberry.scalars import JSON

from gateway.core.context import Info
from gateway.core.enums import CrisisType, Tier
from gateway.core.nodes import LoadedNode
from gateway.core.predicates import parse_tier
from gateway.core.rows import converted, optional
from gateway.mentions.types import Mention
from gateway.signals.loaders import SIGNALS
from gateway.stories.types import Story


@strawberry.type(
    description="Where the watchlist is heading if mentions keep coming at the current pace."
)
class Forecast:
    next_tier: Tier = strawberry.field(description="The tier above the signal's.")
    rate_per_minute: float = strawberry.field(description="Mentions per minute in the window.")
    eta_minutes: int | None = strawberry.field(
        description="Minutes until `nextTier` is reached; null if not within the horizon."
    )
    projected_score: float = strawberry.field(description="The score expected at the horizon.")

    @classmethod
    def from_json(cls, forecast: dict[str, Any]) -> Self:
        """Build from `risk_signal.forecast`."""
        eta = forecast.get("eta_minutes")
        return cls(
            next_tier=Tier(forecast["next_tier"]),
            rate_per_minute=float(forecast["rate_per_minute"]),
            eta_minutes=int(eta) if eta is not None else None,
            projected_score=float(forecast["projected_score"]),
        )


def _share(components: dict[str, Any], name: str) -> float | None:
    value = components.get(name)
    return float(value) if isinstance(value, int | float) else None


@strawberry.type(
    description=(
        "The eight weighted components of a risk score, each in [0, 1]; one is null on a "
        "signal stored before the model computed it."
    )
)
class ScoreComponents:
    spike: float | None = strawberry.field(
        description="How far the window's harmful mentions rose above the baseline."
    )
    negative_share: float | None = strawberry.field(
        description="The share of the window's mentions that are negative."
    )
    velocity: float | None = strawberry.field(
        description="How fast mentions arrive compared with the recent past."
    )
    reach: float | None = strawberry.field(description="The audience the mentions reached.")
    amplification: float | None = strawberry.field(
        description="How much media and KOL accounts carried the talk."
    )
    sensitive: float | None = strawberry.field(
        description="How strongly sensitive terms (敏感词) weigh in the window."
    )
    crisis_type: float | None = strawberry.field(
        description="How much of the window carries cues of one crisis type."
    )
    clustering: float | None = strawberry.field(
        description="How many distinct users say the same negative thing in one story."
    )

    @classmethod
    def from_json(cls, components: dict[str, Any]) -> Self:
        """Read the components from `risk_signal.components`, which also holds the counts,
        tests and weights behind them (those stay in the JSON: they follow the model)."""
        return cls(
            spike=_share(components, "spike"),
            negative_share=_share(components, "negative_share"),
            velocity=_share(components, "velocity"),
            reach=_share(components, "reach"),
            amplification=_share(components, "amplification"),
            sensitive=_share(components, "sensitive"),
            crisis_type=_share(components, "crisis_type"),
            clustering=_share(components, "clustering"),
        )


@strawberry.type(description="A tier decision for a watchlist, with the reasons behind it.")
class RiskSignal(LoadedNode):
    ROWS = SIGNALS
    CONVERTED = converted(
        tier=parse_tier,
        components=JSON,
        crisis_type=optional(CrisisType),
        forecast=optional(Forecast.from_json),
    )

    tier: Tier | None = strawberry.field(
        description=(
            "The tier decided; null when the watchlist dropped below blue (no tier), "
            "which is recorded as a signal too."
        )
    )
    score: float = strawberry.field(description="From 0 to 100.")
    reasons: list[str]
    components: JSON = strawberry.field(
        description=(
            "Each weighted score component in [0, 1] and the tests behind it: the model's "
            "working (weights, counts, spike tests, baseline), whose keys follow the model; "
            "`scoreComponents` reads the eight components typed."
        )
    )
    crisis_type: CrisisType | None = strawberry.field(
        description="The window's dominant crisis type, when cues point to one."
    )
    forecast: Forecast | None = strawberry.field(
        description="Null when there is no higher tier or no forecast was made."
    )
    window_start: datetime
    window_end: datetime
    created_at: datetime
    story_id: strawberry.Private[uuid.UUID | None]
    top_mention_ids: strawberry.Private[list[uuid.UUID]]

    @strawberry.field(description="The eight score components, typed; see `components`.")
    def score_components(self) -> ScoreComponents:
        return ScoreComponents.from_json(
            self.components if isinstance(self.components, dict) else {}
        )

    @strawberry.field(description="The largest story in the window, when there is one.")
    async def story(self, info: Info) -> Story | None:
        return await Story.load(info, self.story_id)

    @strawberry.field(description="The mentions that weighed most in the decision, in order.")
    async def top_mentions(self, info: Info) -> list[Mention]:
        return await Mention.load_many(info, self.top_mention_ids)
