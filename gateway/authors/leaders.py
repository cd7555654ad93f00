"""The first few authors of a window by a summed figure, without summing every author.

Ranking a month's authors by summing each one's days reads every author active in the
month: at ten million mentions, about a million rows of `author_day_rollup` for a panel of
ten names. Fagin and Cao's threshold idea (TPUT) finds the same names from a few hundred:
take the `depth` leading authors of every UTC day the window touches (an index walk per
day); any author outside a day's list had at most that day's `depth`-th figure there, so
an author in no list has at most the sum of those figures over the window's days. Count
the listed authors exactly over the window; if the `first`-th of them beats that bound,
no one else can reach the list, and it is exactly the list a full sum gives. Otherwise
read deeper, and past `MAX_DEPTH` say so (None), so the caller sums every author.

Real activity is skewed (a few accounts post much), so one round almost always settles it;
a window where every author posts once or twice does not, and falls back.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Final

from sqlalchemy import select as core_select
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.authors.ranking import author_figures
from gateway.authors.types import AuthorOrderField

INDEXED: Final = {
    AuthorOrderField.MENTION_COUNT: "mention_count",
    AuthorOrderField.NEGATIVE_COUNT: "negative_count",
    AuthorOrderField.REACH: "reach",
}
"""Figures `author_day_rollup` has a per-day ranking index for (migration 0027)."""
START_DEPTH: Final = 50
MAX_DEPTH: Final = 3200
MAX_DAYS: Final = 400

_LEADERS = """
    SELECT d.day, r.author_id, r.value
    FROM unnest(CAST(:days AS date[])) AS d(day)
    CROSS JOIN LATERAL (
        SELECT author_id, {column} AS value FROM author_day_rollup
        WHERE organization_id = :org AND day = d.day
        ORDER BY {column} DESC, author_id DESC
        LIMIT :depth
    ) r
"""


def touched_days(since: datetime, until: datetime) -> list[date]:
    """The UTC days holding some instant of [since, until)."""
    if since >= until:
        return []
    first = since.astimezone(UTC).date()
    last = (until.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def leading_author_ids(
    session: AsyncSession,
    organization_id: uuid.UUID,
    since: datetime,
    until: datetime,
    field: AuthorOrderField,
    first: int,
) -> list[uuid.UUID] | None:
    """Return the ids of the window's `first` authors by `field` (a superset is fine), or
    None when this method cannot prove them and every author must be summed.

    The lists, the bound and the exact figures must be read from one snapshot, or an
    analysis committed between them could lift an unlisted author past a bound already
    taken: the caller's session starts its transaction here, at repeatable read.
    """
    await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    column = INDEXED.get(field)
    days = touched_days(since, until)
    if column is None or not days or len(days) > MAX_DAYS:
        return None
    depth = max(START_DEPTH, 4 * first)
    while depth <= MAX_DEPTH:
        params = {"org": organization_id, "days": days, "depth": depth}
        listed = await session.exec(text(_LEADERS.format(column=column)), params=params)  # type: ignore[call-overload]
        per_day: dict[date, list[int]] = {}
        candidates: set[uuid.UUID] = set()
        for day, author_id, value in listed:
            per_day.setdefault(day, []).append(int(value))
            candidates.add(author_id)
        bound = sum(values[-1] for values in per_day.values() if len(values) >= depth)
        figures = author_figures(
            organization_id,
            since=since,
            until=until,
            watchlist_id=None,
            author_ids=sorted(candidates),
        )
        top = (
            await session.exec(
                core_select(figures.c.author_id, figures.c[column])  # type: ignore[call-overload]
                .order_by(figures.c[column].desc(), figures.c.author_id.desc())
                .limit(first)
            )
        ).all()
        every_day_whole = all(len(values) < depth for values in per_day.values())
        if every_day_whole or (len(top) == first and int(top[-1][1]) > bound):
            # Whole lists hold every author of the window: the sum over them is the full one.
            return [row[0] for row in top]
        depth *= 8
    return None
