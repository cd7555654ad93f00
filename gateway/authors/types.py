"""An author summary as clients read it, its page, its sort order and its filter.

Counts come from the author's mentions that match the filter's window and watchlist; an
author none of whose mentions match is not listed. Reach is the views their mentions
report, engagement their reposts + comments + likes, influence the highest analysis gave
one of their mentions (0 while none is analysed).
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry

from gateway.core.enums import AuthorKind, Source
from gateway.core.listing import OrderDirection
from gateway.core.wide import BigInt, big, deprecated, narrow
from libs.database import tables


@strawberry.enum(description="What an author list can be sorted by.")
class AuthorOrderField(Enum):
    MENTION_COUNT = "mention_count"
    REACH = "reach"
    ENGAGEMENT = "engagement"
    INFLUENCE = "influence"
    NEGATIVE_COUNT = "negative_count"
    FOLLOWERS = "followers"
    LAST_POSTED_AT = "last_posted_at"


@strawberry.input(description="Sort authors.")
class AuthorOrder:
    field: AuthorOrderField
    direction: OrderDirection = OrderDirection.DESC


@strawberry.type(description="An author and what they posted among the mentions counted.")
class AuthorSummary:
    database_id: uuid.UUID = strawberry.field(
        description="The author's id; `mentions(filter: {authorDatabaseId})` lists their posts."
    )
    source: Source
    handle: str
    followers: int
    verified: bool
    kind: AuthorKind
    mention_count: int
    negative_count: int = strawberry.field(description="Mentions analysis judged negative.")
    reach_total: BigInt = strawberry.field(description="Views the counted mentions report, summed.")
    engagement_total: BigInt = strawberry.field(description="Reposts, comments and likes, summed.")
    influence: float = strawberry.field(
        description="The highest influence analysis gave one of the counted mentions."
    )
    last_posted_at: datetime

    @strawberry.field(
        description="`reachTotal` as a 32-bit Int.", deprecation_reason=deprecated("reachTotal")
    )
    def reach(self) -> int:
        return narrow(self.reach_total, "reach", "reachTotal")

    @strawberry.field(
        description="`engagementTotal` as a 32-bit Int.",
        deprecation_reason=deprecated("engagementTotal"),
    )
    def engagement(self) -> int:
        return narrow(self.engagement_total, "engagement", "engagementTotal")

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """Build from a row of `ranked_authors`: the author, its figures, the sort key."""
        author: tables.Author = row[0]
        return cls(
            database_id=author.id,
            source=Source(author.source),
            handle=author.handle,
            followers=author.followers,
            verified=author.verified,
            kind=AuthorKind(author.kind),
            mention_count=int(row.mention_count),
            negative_count=int(row.negative_count),
            reach_total=big(row.reach),
            engagement_total=big(row.engagement),
            influence=float(row.influence),
            last_posted_at=row.last_posted_at,
        )
