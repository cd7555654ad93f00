"""A window's top authors from each day's leaders: the full sum's answer, or a fallback."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select as core_select

from gateway.authors.leaders import leading_author_ids, touched_days
from gateway.authors.ranking import author_figures
from gateway.authors.types import AuthorOrderField
from gateway.tests import builders
from libs.contracts.enums import Sentiment
from libs.database.engine import transaction
from libs.database.tables import Organization
from tests.builders import Sessions, organization

DAY0 = datetime(2026, 11, 20, tzinfo=UTC)


async def _posts(
    sessions: Sessions, org: Organization, plan: dict[str, list[int]]
) -> dict[str, object]:
    """Each author posts plan[handle][d] times on day d (at 06:00 + n minutes)."""
    ids: dict[str, object] = {}
    async with transaction(sessions) as session:
        for handle, per_day in plan.items():
            author = await builders.author(session, org.id, handle)
            ids[handle] = author.id
            for day, count in enumerate(per_day):
                for n in range(count):
                    at = DAY0 + timedelta(days=day, hours=6, minutes=n)
                    row = await builders.mention(
                        session, org.id, posted_at=at, author_id=author.id, views=10 * (n + 1)
                    )
                    await builders.analysis(
                        session, row, Sentiment.NEGATIVE if n % 2 else Sentiment.NEUTRAL
                    )
    return ids


async def _summed(sessions: Sessions, org: Organization, since: datetime, until: datetime,
                  column: str, first: int) -> list[object]:  # fmt: skip
    figures = author_figures(org.id, since=since, until=until, watchlist_id=None)
    async with sessions() as session:
        rows = (
            await session.exec(
                core_select(figures.c.author_id)  # type: ignore[call-overload]
                .order_by(figures.c[column].desc(), figures.c.author_id.desc())
                .limit(first)
            )
        ).all()
    return [row[0] for row in rows]


def test_the_days_a_window_touches() -> None:
    assert touched_days(DAY0 + timedelta(hours=10), DAY0 + timedelta(days=1, hours=10)) == [
        DAY0.date(), (DAY0 + timedelta(days=1)).date()
    ]  # fmt: skip
    assert touched_days(DAY0, DAY0 + timedelta(days=1)) == [DAY0.date()]
    assert touched_days(DAY0, DAY0) == []


@pytest.mark.parametrize(
    ("field", "column"),
    [(AuthorOrderField.MENTION_COUNT, "mention_count"), (AuthorOrderField.REACH, "reach"),
     (AuthorOrderField.NEGATIVE_COUNT, "negative_count")],
)  # fmt: skip
async def test_an_author_second_every_day_but_first_over_the_window_is_found(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch, field: AuthorOrderField, column: str
) -> None:
    # With one leader a day, "steady" is in no day's list yet leads the window: the bound
    # (the sum of each day's leader) is not beaten, so the lists are read deeper.
    monkeypatch.setattr("gateway.authors.leaders.START_DEPTH", 1)
    async with transaction(sessions) as session:
        org = await organization(session)
    plan = {"steady": [5, 5, 5], "mon": [8, 0, 0], "tue": [0, 8, 0], "wed": [0, 0, 8],
            **{f"quiet{n}": [1, 1, 0] for n in range(4)}}  # fmt: skip
    ids = await _posts(sessions, org, plan)
    since, until = DAY0 + timedelta(hours=3), DAY0 + timedelta(days=2, hours=20)
    async with sessions() as session:
        found = await leading_author_ids(session, org.id, since, until, field, 1)
    assert found == [ids["steady"]]
    assert found == await _summed(sessions, org, since, until, column, 1)


async def test_the_leaders_are_the_full_sums_answer(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
    plan = {"媒体": [9, 7, 12, 3], "大V": [6, 6, 1, 8], "宝妈": [2, 5, 4, 4],
            **{f"路人{n}": [n % 3, (n + 1) % 2, 1, 0] for n in range(12)}}  # fmt: skip
    await _posts(sessions, org, plan)
    since, until = (
        DAY0 + timedelta(hours=6, minutes=3),
        DAY0 + timedelta(days=3, hours=6, minutes=4),
    )
    async with sessions() as session:
        found = await leading_author_ids(
            session, org.id, since, until, AuthorOrderField.MENTION_COUNT, 3
        )
    assert found is not None
    assert found == await _summed(sessions, org, since, until, "mention_count", 3)


async def test_flat_activity_or_an_unindexed_figure_falls_back(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("gateway.authors.leaders.START_DEPTH", 2)
    monkeypatch.setattr("gateway.authors.leaders.MAX_DEPTH", 2)
    async with transaction(sessions) as session:
        org = await organization(session)
    await _posts(sessions, org, {f"路人{n}": [1, 1] for n in range(6)})
    since, until = DAY0, DAY0 + timedelta(days=2)
    async with sessions() as session:
        flat = await leading_author_ids(
            session, org.id, since, until, AuthorOrderField.MENTION_COUNT, 2
        )
    async with sessions() as session:
        unindexed = await leading_author_ids(
            session, org.id, since, until, AuthorOrderField.INFLUENCE, 2
        )
    assert flat is None  # two per day listed, each with 1, cannot beat a bound of 2
    assert unindexed is None
