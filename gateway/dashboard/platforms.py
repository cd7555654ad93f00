"""信息来源: the window's analysed mentions per platform, with their sentiment.

Read from `mention_rollup`, whose rows are kept per platform (`source`): the inside of the
window from rollup buckets, its first and last seconds from the raw rows, exactly as the
volume series counts (`gateway.dashboard.loaders`). Mentions analysis has not judged yet
have no sentiment and no rollup row, so they are left out here. Drills count as the volume
counts them (`counted_rows`): left out unless the scope includes them.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from dataclasses import dataclass
from typing import Any

import strawberry
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.core.enums import Source
from gateway.core.wide import BigInt, big
from gateway.dashboard.loaders import Scope, counted_rows, parameters
from libs.contracts.vocabulary import SOURCE_LABELS
from libs.database.rollups import GRAINS

_BY_PLATFORM = """
    SELECT source, sum(positive), sum(neutral), sum(negative), sum(score_sum)
    FROM (
        SELECT source, positive, neutral, negative, sentiment_score_sum AS score_sum
        FROM mention_rollup
        WHERE organization_id = :organization_id AND {rollup_where}
          AND ((grain_seconds = :grain AND bucket_at >= :inside_start AND bucket_at < :inside_end)
            OR (grain_seconds = 60
                AND ((bucket_at >= :minutes_0_start AND bucket_at < :minutes_0_end)
                  OR (bucket_at >= :minutes_1_start AND bucket_at < :minutes_1_end))))
        UNION ALL
        SELECT m.source, (a.sentiment = 'positive')::int, (a.sentiment = 'neutral')::int,
               (a.sentiment = 'negative')::int, a.sentiment_score
        FROM mention m
        JOIN mention_analysis a ON a.mention_id = m.id
        WHERE m.organization_id = :organization_id AND {raw_where}
          AND ((m.posted_at >= :raw_0_start AND m.posted_at < :raw_0_end)
            OR (m.posted_at >= :raw_1_start AND m.posted_at < :raw_1_end))
    ) counted
    GROUP BY source
"""


@dataclass(frozen=True)
class PlatformRow:
    """One platform's analysed mentions in the window, by sentiment."""

    source: str
    positive: int
    neutral: int
    negative: int
    score_sum: float | None

    @property
    def total(self) -> int:
        """Return the platform's analysed mentions."""
        return self.positive + self.neutral + self.negative


async def by_platform(session: AsyncSession, scope: Scope) -> list[PlatformRow]:
    """Return every platform with analysed mentions in the scope's window, most first."""
    values = parameters(scope, max(GRAINS))
    rollup_where, raw_where = counted_rows(scope)
    statement = _BY_PLATFORM.format(rollup_where=rollup_where, raw_where=raw_where)
    connection = await session.connection()
    found = await connection.execute(text(statement), values)
    rows = [
        PlatformRow(str(source), int(positive), int(neutral), int(negative), _float(score_sum))
        for source, positive, neutral, negative, score_sum in found.all()
    ]
    rows = [row for row in rows if row.total]
    # Most first, then in the order the platforms are listed (`Source`).
    order = {source.value: place for place, source in enumerate(Source)}
    rows.sort(key=lambda row: (-row.total, order.get(row.source, len(order)), row.source))
    return rows


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@strawberry.type(description="One platform's analysed mentions in the window (信息来源).")
class PlatformShare:
    platform: Source
    label: str = strawberry.field(description="The platform in Chinese, e.g. 微博, 小红书.")
    mention_total: BigInt = strawberry.field(description="Analysed mentions posted there.")
    positive: BigInt
    neutral: BigInt
    negative: BigInt
    share: float | None = strawberry.field(
        description=(
            "`mentionTotal` over every platform's, 0 to 1 (the shares add up to 1); null "
            "when the window has no analysed mention."
        )
    )
    negative_share: float | None = strawberry.field(
        description="Negative among the platform's mentions, 0 to 1."
    )
    average_sentiment_score: float | None = strawberry.field(
        description="The platform's mean sentiment score, -1 to 1."
    )


def platform_shares(rows: list[PlatformRow]) -> list[PlatformShare]:
    """Build the dashboard's platform list from the counted rows, each with its share."""
    whole = sum(row.total for row in rows)
    shares = []
    for row in rows:
        source = Source(row.source)
        shares.append(
            PlatformShare(
                platform=source,
                label=SOURCE_LABELS[source],
                mention_total=big(row.total),
                positive=big(row.positive),
                neutral=big(row.neutral),
                negative=big(row.negative),
                share=_share(row.total, whole),
                negative_share=_share(row.negative, row.total),
                average_sentiment_score=(
                    row.score_sum / row.total if row.score_sum is not None else None
                ),
            )
        )
    return shares
