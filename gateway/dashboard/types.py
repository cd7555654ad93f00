"""The dashboard as clients read it: one window's figures, each field its own query.

`dashboard(since, until, watchlistId)` fixes the window and optionally one watchlist; each
field below it runs its own query, so a console asks only for the panels it draws.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import math
from datetime import UTC, datetime, timedelta
from enum import Enum

import strawberry
from sqlmodel import col

from gateway.authors.leaders import leading_author_ids
from gateway.authors.ranking import author_figures, leading, ranked_authors
from gateway.authors.types import AuthorOrderField, AuthorSummary
from gateway.core.context import Info
from gateway.core.enums import IncidentStatus, Tier, WatchlistKind
from gateway.core.errors import GatewayError
from gateway.core.listing import OrderDirection
from gateway.core.pagination import sort
from gateway.core.rows import from_columns
from gateway.core.wide import BigInt, big, deprecated, narrow
from gateway.dashboard import loaders as figures
from gateway.dashboard.platforms import PlatformShare, by_platform, platform_shares
from gateway.watchlists.types import Watchlist
from libs.database import tables

MAX_BUCKETS = 1000
MAX_RANKED = 100


@strawberry.enum(description="The width of one point of a time series.")
class TimeBucket(Enum):
    MINUTE = 60
    FIVE_MINUTES = 300
    FIFTEEN_MINUTES = 900
    HOUR = 3600
    DAY = 86400


@strawberry.enum(description="Which terms analysis stored per mention to rank.")
class TermKind(Enum):
    KEYWORD = "keyword"
    HASHTAG = "hashtag"
    SENSITIVE = "sensitive"
    TOKEN = "token"


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@strawberry.type(description="Mentions posted in one bucket of the series, by sentiment.")
class VolumePoint:
    start: datetime = strawberry.field(description="Where the bucket starts (inclusive).")
    total: int
    positive: int
    neutral: int
    negative: int
    unanalyzed: int = strawberry.field(description="Mentions analysis has not judged yet.")
    negative_share: float | None = strawberry.field(
        description="Negative among the analysed mentions, 0 to 1; null when none is analysed."
    )
    average_sentiment_score: float | None = strawberry.field(
        description="The analysed mentions' mean sentiment score, -1 to 1; null when none."
    )

    @classmethod
    def from_row(cls, row: figures.VolumeRow) -> "VolumePoint":
        """Build from one counted bucket."""
        judged = row.positive + row.neutral + row.negative
        return from_columns(
            cls, row, unanalyzed=row.total - judged, negative_share=_share(row.negative, judged)
        )


@strawberry.type(description="A watchlist's share of the mentions all watchlists matched.")
class WatchlistShare:
    watchlist: Watchlist
    mention_total: BigInt = strawberry.field(
        description="Mentions in the window it matched (over 400 days they can pass 2^31)."
    )
    negative_total: BigInt = strawberry.field(description="Of those, mentions judged negative.")
    share: float | None = strawberry.field(
        description=(
            "`mentionTotal` over the sum of every watchlist's `mentionTotal`, 0 to 1 (a "
            "mention two watchlists match counts for both); null when no watchlist matched any."
        )
    )
    negative_share: float | None = strawberry.field(
        description="Negative among its mentions, 0 to 1; null without mentions."
    )
    positive_total: BigInt = strawberry.field(description="Of those, mentions judged positive.")
    neutral_total: BigInt = strawberry.field(description="Of those, mentions judged neutral.")
    average_sentiment_score: float | None = strawberry.field(
        description="Its mentions' mean sentiment score, -1 to 1; null without mentions."
    )

    @strawberry.field(
        description="`mentionTotal` as a 32-bit Int.", deprecation_reason=deprecated("mentionTotal")
    )
    def mentions(self) -> int:
        return narrow(self.mention_total, "mentions", "mentionTotal")

    @strawberry.field(
        description="`negativeTotal` as a 32-bit Int.",
        deprecation_reason=deprecated("negativeTotal"),
    )
    def negative(self) -> int:
        return narrow(self.negative_total, "negative", "negativeTotal")


@strawberry.type(description="A term and how many mentions in the window carry it.")
class TermCount:
    term: str
    mentions: int
    negative: int = strawberry.field(description="Of those, mentions judged negative.")
    exact: bool = strawberry.field(
        description=(
            "true when `mentions` and `negative` were counted; false when estimated from a "
            "sample of the window (a window of more analysed mentions than the sample reads, "
            "about 4,000, spread over its quarter-hours)."
        )
    )


@strawberry.type(description="Incidents of one tier.")
class TierCount:
    tier: Tier
    count: int


@strawberry.type(description="Incidents in one status.")
class StatusCount:
    status: IncidentStatus
    count: int


@strawberry.type(
    description=(
        "How incidents detected in the window are being handled. Task deadlines count as "
        "met when done by their due time; missed when done late or still not done past it."
    )
)
class IncidentMetrics:
    detected: int = strawberry.field(description="Incidents detected in the window.")
    by_tier: list[TierCount] = strawberry.field(description="Every tier, blue to red.")
    by_status: list[StatusCount] = strawberry.field(description="Every status, in lifecycle order.")
    acknowledged: int
    time_to_acknowledge_median_seconds: float | None = strawberry.field(
        description="Median time from detection to acknowledgement; null if none acknowledged."
    )
    time_to_acknowledge_p90_seconds: float | None = strawberry.field(
        description="90th percentile of the same (continuous percentile)."
    )
    deadlines_met: int
    deadlines_missed: int = strawberry.field(description="`tasksDoneLate + tasksOverdue`.")
    tasks_done_late: int
    tasks_overdue: int = strawberry.field(description="Not done and past due now.")
    tasks_pending: int = strawberry.field(description="Not done and not yet due.")
    deadline_met_share: float | None = strawberry.field(
        description="`deadlinesMet` over met + missed, 0 to 1; null while no deadline is decided."
    )
    overdue_open_tasks: int = strawberry.field(
        description=(
            "Right now, whatever the window: tasks past due and not done in incidents still "
            "being handled."
        )
    )
    open_incidents: int = strawberry.field(
        description="Right now, whatever the window: incidents still being handled."
    )

    @classmethod
    def from_row(cls, row: figures.IncidentRow) -> "IncidentMetrics":
        """Build from the counted figures, listing every tier and status (zero too)."""
        missed = row.tasks_done_late + row.tasks_overdue
        return from_columns(
            cls,
            row,
            detected=sum(row.by_status.values()),
            by_tier=[TierCount(tier=tier, count=row.by_tier.get(tier.value, 0)) for tier in Tier],
            by_status=[
                StatusCount(status=status, count=row.by_status.get(status.value, 0))
                for status in IncidentStatus
            ],
            deadlines_missed=missed,
            deadline_met_share=_share(row.deadlines_met, row.deadlines_met + missed),
        )


def _check_ranked(first: int) -> int:
    if first < 1 or first > MAX_RANKED:
        raise GatewayError(f"`first` must be between 1 and {MAX_RANKED}, got {first}.")
    return first


@strawberry.type(description="Figures for one window (and optionally one watchlist).")
class Dashboard:
    since: datetime
    until: datetime
    scope: strawberry.Private[figures.Scope]

    @strawberry.field(
        description=(
            "Mention volume and sentiment per bucket, every bucket of the window in order "
            "(empty ones as zeros). Buckets start on whole multiples of their width from "
            "midnight UTC shifted by `utcOffsetMinutes` (480 puts days on Beijing midnight); "
            "the first and last may reach outside the window and count only what is inside. "
            "At most 1000 buckets."
        )
    )
    async def volume(
        self, info: Info, bucket: TimeBucket = TimeBucket.HOUR, utc_offset_minutes: int = 0
    ) -> list[VolumePoint]:
        if not -720 <= utc_offset_minutes <= 840:
            raise GatewayError("`utcOffsetMinutes` must be between -720 and 840.")
        width = timedelta(seconds=bucket.value)
        offset = timedelta(minutes=utc_offset_minutes)
        origin = figures.EPOCH - offset
        first_start = origin + ((self.since - origin) // width) * width
        count = math.ceil((self.until - first_start) / width)
        if count > MAX_BUCKETS:
            raise GatewayError(
                f"`bucket` {bucket.name} makes {count} buckets between `since` and `until`; "
                f"at most {MAX_BUCKETS}: choose a wider bucket or a shorter window."
            )
        async with info.context.sessions() as session:
            rows = await figures.volume(session, self.scope, width, offset)
        return [VolumePoint.from_row(row) for row in rows]

    @strawberry.field(
        description=(
            "Every watchlist with the mentions it matched in the window and its share of all "
            "listed watchlists' matches, most first. Always covers every watchlist, whatever "
            "`watchlistId` the dashboard was asked for; `kinds` lists only watchlists of those "
            "kinds, e.g. `[OWN_BRAND, COMPETITOR]` for the brand against its competitors. "
            "Drills' watchlists only with the dashboard's `includeDrills`."
        )
    )
    async def share_of_voice(
        self, info: Info, kinds: list[WatchlistKind] | None = None
    ) -> list[WatchlistShare]:
        wanted = [kind.value for kind in kinds] if kinds is not None else None
        async with info.context.sessions() as session:
            rows = await figures.share_of_voice(session, self.scope, wanted)
        whole = sum(row.mentions for row in rows)
        return [
            WatchlistShare(
                watchlist=Watchlist.from_row(row.watchlist),
                mention_total=big(row.mentions),
                negative_total=big(row.negative),
                share=_share(row.mentions, whole),
                negative_share=_share(row.negative, row.mentions),
                positive_total=big(row.positive),
                neutral_total=big(row.neutral),
                average_sentiment_score=(
                    row.score_sum / row.mentions
                    if row.score_sum is not None and row.mentions
                    else None
                ),
            )
            for row in rows
        ]

    @strawberry.field(
        description=(
            "信息来源: every platform with analysed mentions in the window (of the dashboard's "
            "watchlist, when one is given), most first, with its sentiment and its share."
        )
    )
    async def platforms(self, info: Info) -> list[PlatformShare]:
        async with info.context.sessions() as session:
            rows = await by_platform(session, self.scope)
        return platform_shares(rows)

    @strawberry.field(
        description=(
            "The terms most mentions in the window carry, most first: the watchlist keywords "
            "matched, topics (#话题#), sensitive terms (敏感词) or segmented tokens of two "
            "characters or more. Over a long window the counts are estimated from a sample "
            "(`exact` says which)."
        )
    )
    async def top_terms(
        self, info: Info, kind: TermKind = TermKind.KEYWORD, first: int = 10
    ) -> list[TermCount]:
        _check_ranked(first)
        async with info.context.sessions() as session:
            sample = await figures.sampled_top_terms(session, self.scope, kind.value, first)
        return [
            TermCount(
                term=row.term, mentions=row.mentions, negative=row.negative, exact=sample.exact
            )
            for row in sample.rows
        ]

    @strawberry.field(
        description="The authors who posted most in the window (or by another figure), first."
    )
    async def top_authors(
        self,
        info: Info,
        by: AuthorOrderField = AuthorOrderField.MENTION_COUNT,
        first: int = 10,
    ) -> list[AuthorSummary]:
        _check_ranked(first)
        scope = self.scope
        async with info.context.sessions() as session:
            leaders = None
            if scope.watchlist_id is None:
                leaders = await leading_author_ids(
                    session, scope.organization_id, scope.since, scope.until, by, first
                )
            counted = author_figures(
                scope.organization_id,
                since=scope.since,
                until=scope.until,
                watchlist_id=scope.watchlist_id,
                author_ids=leaders,
            )
            statement, ordering = ranked_authors(
                scope.organization_id, leading(counted, by, first), [], by, OrderDirection.DESC
            )
            statement = sort(statement, ordering, col(tables.Author.id)).limit(first)
            rows = (await session.exec(statement)).all()
        return [AuthorSummary.from_row(row) for row in rows]

    @strawberry.field(description="Incidents detected in the window and how they are handled.")
    async def incidents(self, info: Info) -> IncidentMetrics:
        async with info.context.sessions() as session:
            row = await figures.incident_figures(session, self.scope, datetime.now(UTC))
        return IncidentMetrics.from_row(row)
