"""The `mentions` query's filter, applied to one analysed mention as it goes by.

A live stream cannot ask PostgreSQL which rows match, so the conditions of `MentionFilter`
are checked twice in memory: cheaply on the notice's facts, to keep a subscriber's queue
for mentions it may want, and exactly on the rows loaded for delivery, with the same
meaning as the query's SQL (`gateway.schema.listings.mentions`).
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from gateway.schema.errors import GatewayError
from gateway.schema.filters import MentionFilter, as_utc, require_id
from libs.database import tables
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
            watchlist_id=(
                require_id(chosen.watchlist_id, "Watchlist", "filter.watchlistId")
                if chosen.watchlist_id is not None
                else None
            ),
            since=as_utc(chosen.since) if chosen.since is not None else None,
            until=as_utc(chosen.until) if chosen.until is not None else None,
            story_id=(
                require_id(chosen.story_id, "Story", "filter.storyId")
                if chosen.story_id is not None
                else None
            ),
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
