"""Top terms over a long window: exact while small, estimated from a time-stratified sample."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from gateway.tests import builders
from libs.contracts.enums import Sentiment
from libs.database.engine import transaction
from libs.database.mention_window import Scope, top_terms
from libs.database.tables import Organization, Watchlist
from libs.database.term_sample import sampled_top_terms, slices
from tests.builders import Sessions, organization

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # on a quarter-hour
KINDS = ("keyword", "hashtag", "token", "sensitive")


async def _post(
    sessions: Sessions, org: Organization, at: datetime, terms: list[str], *,
    negative: bool = False, watched: list[Watchlist] | None = None,
) -> None:  # fmt: skip
    async with transaction(sessions) as session:
        row = await builders.mention(session, org.id, posted_at=at)
        await builders.analysis(
            session,
            row,
            Sentiment.NEGATIVE if negative else Sentiment.NEUTRAL,
            watched or [],
            matched_keywords=terms,
            hashtags=[f"#{t}#" for t in terms],
            tokens=[*terms, "的"],
            sensitive_hits=[{"term": t, "category": "safety", "weight": 0.5} for t in terms],
        )


def test_a_window_is_cut_at_the_quarter_hours() -> None:
    cut = slices(T0 + timedelta(minutes=5), T0 + timedelta(minutes=50))
    assert cut == [
        (T0 + timedelta(minutes=5), T0 + timedelta(minutes=15)),
        (T0 + timedelta(minutes=15), T0 + timedelta(minutes=30)),
        (T0 + timedelta(minutes=30), T0 + timedelta(minutes=45)),
        (T0 + timedelta(minutes=45), T0 + timedelta(minutes=50)),
    ]
    assert slices(T0, T0 + timedelta(minutes=15)) == [(T0, T0 + timedelta(minutes=15))]
    assert slices(T0, T0) == []


async def test_a_small_window_is_counted_exactly_as_the_exact_query(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
        milk = await builders.watchlist(session, org.id, "奶粉")
    for n in range(30):
        terms = ["奶粉"] + (["结块"] if n % 3 else []) + (["客服"] if n % 4 == 0 else [])
        watched = [milk] if n % 2 else []
        at = T0 + timedelta(minutes=7 * n)
        await _post(sessions, org, at, terms, negative=n % 5 == 0, watched=watched)
    until = T0 + timedelta(hours=4)
    for scope in (Scope(org.id, T0, until), Scope(org.id, T0, until, watchlist_id=milk.id)):
        async with sessions() as session:
            for kind in KINDS:
                counted = await top_terms(session, scope, kind, 10)
                sample = await sampled_top_terms(session, scope, kind, 10)
                assert sample.exact
                assert sample.rows == counted
                assert counted  # the comparison is about something


async def test_a_long_window_is_estimated_and_each_quarter_hour_weighs_its_mentions(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
    # Four quiet quarter-hours of six posts, every other one about 结块; then one of 30
    # posts, all about 召回. A sample of two per quarter-hour reads 10 of the 54 posts.
    for q in range(4):
        for n in range(6):
            at = T0 + timedelta(minutes=15 * q + 2 * n)
            await _post(sessions, org, at, ["奶粉", "结块"] if n % 2 else ["奶粉"])
    for n in range(30):
        await _post(sessions, org, T0 + timedelta(minutes=60 + n / 3), ["召回"], negative=True)
    scope = Scope(org.id, T0, T0 + timedelta(minutes=75))
    async with sessions() as session:
        sample = await sampled_top_terms(session, scope, "keyword", 10, target=10)
        counted = await top_terms(session, scope, "keyword", 10)
    assert not sample.exact
    assert [(r.term, r.mentions, r.negative) for r in sample.rows] == [
        ("召回", 30, 30), ("奶粉", 24, 0), ("结块", 12, 0)
    ]  # fmt: skip
    assert sample.rows == counted  # the strata are even, so the estimate is the count


async def test_another_organizations_watchlist_counts_nothing(sessions: Sessions) -> None:
    async with transaction(sessions) as session:
        ours = await organization(session)
        theirs = await organization(session)
        their_list = await builders.watchlist(session, theirs.id, "并购")
    await _post(sessions, theirs, T0 + timedelta(minutes=1), ["并购计划"], watched=[their_list])
    scope = Scope(ours.id, T0, T0 + timedelta(hours=1), watchlist_id=their_list.id)
    async with sessions() as session:
        for target in (10, 4000):  # cut short and read whole
            sample = await sampled_top_terms(session, scope, "keyword", 10, target=target)
            assert sample.rows == []


async def test_a_quarter_hour_the_rollups_no_longer_hold_is_an_estimate(
    sessions: Sessions,
) -> None:
    async with transaction(sessions) as session:
        org = await organization(session)
    for n in range(12):
        await _post(sessions, org, T0 + timedelta(minutes=n), ["奶粉"])
    async with transaction(sessions) as session:
        await session.exec(
            text("DELETE FROM mention_rollup WHERE organization_id = :org"),  # type: ignore[call-overload]
            params={"org": org.id},
        )
    scope = Scope(org.id, T0, T0 + timedelta(minutes=15))
    async with sessions() as session:
        sample = await sampled_top_terms(session, scope, "keyword", 10, target=2)
    assert not sample.exact  # two of twelve read: not the count, whatever the rollups say


async def test_slices_the_window_cuts_short_weigh_their_minutes_and_seconds(
    sessions: Sessions,
) -> None:
    # The window's ends cut its first and last quarter-hours: each is weighed by its whole
    # minutes' rollup rows and the raw rows of the seconds beside them, nothing outside.
    async with transaction(sessions) as session:
        org = await organization(session)
        milk = await builders.watchlist(session, org.id, "奶粉")
    minutes = [5.2, 5.6, 7, 10.2, 16, 20, 31, 44.9, 46, 50.1, 50.5]  # 5.2 and 50.5 outside
    for m in minutes:
        await _post(sessions, org, T0 + timedelta(minutes=m), ["奶粉"], watched=[milk])
    since, until = T0 + timedelta(minutes=5.5), T0 + timedelta(minutes=50 + 1 / 3)
    scopes = (Scope(org.id, since, until), Scope(org.id, since, until, watchlist_id=milk.id))

    async def weighed() -> list[list[tuple[str, int]]]:
        async with sessions() as session:
            found = []
            for scope in scopes:
                sample = await sampled_top_terms(session, scope, "keyword", 10, target=4)
                assert not sample.exact  # one post read of each quarter-hour's two or three
                found.append([(r.term, r.mentions) for r in sample.rows])
            return found

    assert await weighed() == [[("奶粉", 9)]] * 2
    # The whole minutes come from the minute rows: without them only the seconds count.
    async with transaction(sessions) as session:
        await session.exec(
            text("DELETE FROM mention_rollup WHERE organization_id = :org AND grain_seconds = 60"),  # type: ignore[call-overload]
            params={"org": org.id},
        )
    assert await weighed() == [[("奶粉", 6)]] * 2
