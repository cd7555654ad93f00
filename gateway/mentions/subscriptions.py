"""Mentions as analysis finishes them, chosen by the `mentions` query's filter.

A live stream cannot ask PostgreSQL which rows match, so the conditions of `MentionFilter`
are checked twice in memory: cheaply on the notice's facts, to keep a subscriber's queue
for mentions it may want, and exactly on the rows loaded for delivery, with the same
meaning as the list's SQL (`gateway.mentions.queries.MentionFilter`).
"""

# strawberry types `subscription(description=...)` as returning Any, so its decorators
# are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import strawberry

from gateway.core.context import Info
from gateway.core.errors import GatewayError
from gateway.core.inputs import as_utc, optional_id
from gateway.core.live import Deliver, facts_or_none, follow, require_visible, start
from gateway.core.nodes import load_by_name
from gateway.core.reads import Loaders
from gateway.live_hub import Accept
from gateway.mentions.loaders import ANALYSES, MENTIONS
from gateway.mentions.queries import MentionFilter
from gateway.mentions.types import Mention
from gateway.watchlists.types import Watchlist
from libs.database import tables
from libs.messaging import live
from libs.messaging.live import MentionFacts

# Every field of `MentionFilter` this module applies; a test fails when the input grows a
# field the live stream would silently ignore.
HANDLED_FIELDS = frozenset(
    {
        "sentiment",
        "source",
        "watchlist_id",
        "since",
        "until",
        "story_id",
        "author_database_id",
        "crisis_type",
        "min_influence",
        "amplifier",
        "analyzed",
        "text_contains",
    }
)


@dataclass(frozen=True)
class MentionMatch:
    """A `MentionFilter` with its ids checked and its times read as UTC."""

    sentiment: str | None = None
    source: str | None = None
    watchlist_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None
    story_id: uuid.UUID | None = None
    author_id: uuid.UUID | None = None
    crisis_type: str | None = None
    min_influence: float | None = None
    amplifier: bool | None = None
    text_contains: str | None = None

    @classmethod
    def of(cls, chosen: MentionFilter | None) -> "MentionMatch":
        """Read the subscriber's filter; refuse what can never match a live mention."""
        if chosen is None:
            return cls()
        if chosen.analyzed is False:
            raise GatewayError(
                "`filter.analyzed` cannot be false here: the stream carries mentions as "
                "analysis finishes them."
            )
        return cls(
            sentiment=chosen.sentiment.value if chosen.sentiment is not None else None,
            source=chosen.source.value if chosen.source is not None else None,
            watchlist_id=optional_id(chosen.watchlist_id, "Watchlist", "filter.watchlistId"),
            since=as_utc(chosen.since) if chosen.since is not None else None,
            until=as_utc(chosen.until) if chosen.until is not None else None,
            story_id=optional_id(chosen.story_id, "Story", "filter.storyId"),
            author_id=chosen.author_database_id,
            crisis_type=chosen.crisis_type.value if chosen.crisis_type is not None else None,
            min_influence=chosen.min_influence,
            amplifier=chosen.amplifier,
            text_contains=chosen.text_contains,
        )

    def may_match(self, facts: MentionFacts) -> bool:
        """Whether a notice with these facts can match; the rows decide in the end."""
        return (
            (self.sentiment is None or facts.sentiment == self.sentiment)
            and (self.source is None or facts.source == self.source)
            and (self.watchlist_id is None or self.watchlist_id in facts.watchlist_ids)
            and (self.story_id is None or facts.story_id == self.story_id)
            and _within(facts.posted_at, self.since, self.until)
        )

    def matches(self, mention: tables.Mention, analysis: tables.MentionAnalysis | None) -> bool:
        """Whether the stored mention and its analysis meet every condition."""
        if not (
            (self.source is None or mention.source == self.source)
            and _within(mention.posted_at, self.since, self.until)
            and (self.author_id is None or mention.author_id == self.author_id)
            and (self.text_contains is None or self.text_contains.lower() in mention.text.lower())
        ):
            return False
        if analysis is None:
            return False
        return (
            (self.sentiment is None or analysis.sentiment == self.sentiment)
            and (self.watchlist_id is None or self.watchlist_id in analysis.watchlist_ids)
            and (self.story_id is None or analysis.story_id == self.story_id)
            and (self.crisis_type is None or analysis.crisis_type == self.crisis_type)
            and (self.min_influence is None or analysis.influence >= self.min_influence)
            and (self.amplifier is None or analysis.amplifier is self.amplifier)
        )


def _within(moment: datetime, since: datetime | None, until: datetime | None) -> bool:
    return (since is None or moment >= since) and (until is None or moment < until)


async def _story(info: Info, story_id: uuid.UUID) -> object | None:
    # A story lists its mentions, so it is loaded by its name rather than imported.
    return await load_by_name(info, "Story", story_id)


def _accept(match: MentionMatch) -> Accept:
    def accept(notice: live.Notice) -> bool:
        facts = facts_or_none(live.MentionFacts.of, notice, live.LiveKind.MENTION)
        return facts is not None and match.may_match(facts)

    return accept


def _delivery(match: MentionMatch) -> Deliver[Mention]:
    async def deliver(loaders: Loaders, notices: Sequence[live.Notice]) -> list[Mention]:
        ids = [n.id for n in notices]
        rows = await loaders.of(MENTIONS).load_many(ids)
        # Loaded for the filter, and cached for `analysis { … }`, the field a live list
        # shows, which then costs no query per mention.
        analyses = await loaders.of(ANALYSES).load_many(ids)
        return [
            Mention.from_row(row)
            for row, analysis in zip(rows, analyses, strict=True)
            if row is not None and match.matches(row, analysis)
        ]

    return deliver


@strawberry.type
class MentionSubscription:
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
        context = await start(info)
        await require_visible(
            Watchlist.load, info, match.watchlist_id, "watchlist", "filter.watchlistId"
        )
        await require_visible(_story, info, match.story_id, "story", "filter.storyId")
        return follow(context, _accept(match), _delivery(match))
