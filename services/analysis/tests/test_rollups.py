"""The rollups equal a recount of the raw rows after every way they change: analysis
batches (a repeated delivery too), subtraction before a deletion, and a rebuild."""

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, Source
from libs.database import rollups
from libs.database.tables import Drill
from services.analysis.analyzer import Analyzer
from services.analysis.tests.builders import (
    analyse,
    make_author,
    make_mention,
    make_organization,
    make_watchlist,
)
from services.analysis.window import harmful

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
EVERY = "00000000-0000-0000-0000-000000000000"
TEXTS = [
    "禾岚奶粉罐里发现黑色异物，宝宝喝了呕吐，要求召回",
    "禾岚奶粉今天打折，囤了两罐，宝宝很喜欢",
    "快递延误三天了，禾岚客服一直不回复",
    "今天天气不错，出去走走",
    "禾岚新品发布会在上海举行",
    "物流太慢了，快递延误一周，差评",
    "禾岚奶粉通过市场监管局抽检，质量合格，放心了",
]


async def _sql(session: AsyncSession, statement: Any, parameters: dict[str, Any]) -> Any:
    connection = await session.connection()
    return await connection.execute(statement, parameters)


def _floor(moment: datetime, grain: int) -> datetime:
    seconds = int((moment - rollups.ORIGIN).total_seconds())
    return rollups.ORIGIN + timedelta(seconds=seconds - seconds % grain)


async def _raw(session: AsyncSession, organization_id: uuid.UUID) -> list[Any]:
    """Every analysed mention of the organization with what the rollups count of it."""
    result = await _sql(
        session,
        text(
            """
            SELECT m.posted_at, m.source, m.author_id, m.views,
                   m.reposts + m.comments + m.likes, a.sentiment, a.sentiment_score,
                   a.watchlist_ids, a.influence, m.drill_id, a.sensitive_score
            FROM mention m JOIN mention_analysis a ON a.mention_id = m.id
            WHERE m.organization_id = :org
            """
        ),
        {"org": organization_id},
    )
    return list(result.all())


def _expected_buckets(raw: list[Any]) -> dict[tuple[Any, ...], list[Any]]:
    """The bucket rollup counted here, mention by mention, from the raw rows: a drill's
    mention under its watchlists only, never the organization's row."""
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0, 0.0, 0, 0])
    for row_in in raw:
        posted_at, source, _, views, engagement, sentiment, score, watchlists = row_in[:8]
        drill = row_in.drill_id
        every = {EVERY} if drill is None else set()
        for watchlist in every | {str(w) for w in watchlists}:
            for grain in rollups.GRAINS:
                row = out[(watchlist, grain, _floor(posted_at, grain), source)]
                row[["positive", "neutral", "negative"].index(sentiment)] += 1
                row[3] += score
                row[4] += views
                row[5] += engagement
    return out


def _expected_windows(raw: list[Any]) -> dict[tuple[Any, ...], list[Any]]:
    """The decision windows counted here: each matched watchlist's mentions and harmful ones
    per quarter-hour (a drill's too, under its own watchlist), none for the organization."""
    out: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0])
    for row in raw:
        for watchlist in {str(w) for w in row.watchlist_ids}:
            counts = out[(watchlist, _floor(row.posted_at, rollups.DECISION_WINDOW))]
            counts[0] += 1
            counts[1] += harmful(row.sentiment, row.sensitive_score)
    return out


def _expected_authors(raw: list[Any], *, by_day: bool) -> dict[tuple[Any, ...], list[Any]]:
    """The author rollups counted here from the raw rows: per author (and UTC day), drills'
    (invented) authors left out."""
    out: dict[tuple[Any, ...], list[Any]] = {}
    for row_in in raw:
        posted_at, _, author_id, views, engagement, sentiment, _, _, influence, drill = row_in[:10]
        if author_id is None or drill is not None:
            continue
        key = (str(author_id), posted_at.astimezone(UTC).date()) if by_day else (str(author_id),)
        row = out.setdefault(key, [0, 0, 0, 0, 0.0, posted_at])
        row[0] += 1
        row[1] += sentiment == "negative"
        row[2] += views
        row[3] += engagement
        row[4] = max(row[4], influence)
        row[5] = max(row[5], posted_at)
    return out


async def _stored_buckets(
    session: AsyncSession, organization_id: uuid.UUID
) -> dict[tuple[Any, ...], list[Any]]:
    result = await _sql(
        session,
        text(
            """
            SELECT watchlist_id::text, grain_seconds, bucket_at, source, positive, neutral,
                   negative, sentiment_score_sum, reach, engagement
            FROM mention_rollup WHERE organization_id = :org
            """
        ),
        {"org": organization_id},
    )
    return {tuple(row[:4]): list(row[4:]) for row in result.all()}


async def _stored_windows(
    session: AsyncSession, organization_id: uuid.UUID
) -> dict[tuple[Any, ...], list[Any]]:
    result = await _sql(
        session,
        text(
            "SELECT watchlist_id::text, bucket_at, mentions, harmful "
            "FROM watchlist_window_rollup WHERE organization_id = :org"
        ),
        {"org": organization_id},
    )
    return {tuple(row[:2]): list(row[2:]) for row in result.all()}


async def _stored_authors(
    session: AsyncSession, organization_id: uuid.UUID, *, by_day: bool
) -> dict[tuple[Any, ...], list[Any]]:
    table, key = (
        ("author_day_rollup", "author_id::text, day")
        if by_day
        else ("author_rollup", "author_id::text")
    )
    result = await _sql(
        session,
        text(
            f"""
            SELECT {key}, mention_count, negative_count, reach, engagement, influence,
                   last_posted_at
            FROM {table} WHERE organization_id = :org
            """
        ),
        {"org": organization_id},
    )
    width = 2 if by_day else 1
    return {tuple(row[:width]): list(row[width:]) for row in result.all()}


def _same(
    stored: dict[tuple[Any, ...], list[Any]], expected: dict[tuple[Any, ...], list[Any]]
) -> None:
    assert stored.keys() == expected.keys()
    for key, values in expected.items():
        for got, want in zip(stored[key], values, strict=True):
            if isinstance(want, float):
                assert abs(got - want) < 1e-9, key
            else:
                assert got == want, key


async def _equal_to_a_recount(session: AsyncSession, organization_id: uuid.UUID) -> None:
    raw = await _raw(session, organization_id)
    _same(await _stored_buckets(session, organization_id), _expected_buckets(raw))
    _same(await _stored_windows(session, organization_id), _expected_windows(raw))
    for by_day in (True, False):
        _same(
            await _stored_authors(session, organization_id, by_day=by_day),
            _expected_authors(raw, by_day=by_day),
        )


async def test_rollups_equal_a_recount_after_batches_deletions_and_a_rebuild(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    pick = random.Random(14)
    org = await make_organization(session)
    make_watchlist(session, org, "禾岚", ["禾岚"])
    make_watchlist(session, org, "物流", ["快递", "物流"])
    people = [make_author(session, org, f"网友{i}", followers=100 * i) for i in range(4)] + [
        make_author(session, org, "晨潮新闻", kind=AuthorKind.MEDIA, followers=3_200_000)
    ]
    await session.flush()
    batches = []
    for batch in range(4):
        mentions = []
        for _ in range(12):
            mention = make_mention(
                session,
                org,
                pick.choice(TEXTS),
                # Over two days, across minute, quarter and hour boundaries.
                NOW - timedelta(seconds=pick.randrange(0, 2 * 86400)),
                author=pick.choice([*people, None]),
                views=pick.randrange(0, 10**6),
                source=pick.choice([Source.WEIBO, Source.DOUYIN, Source.WECHAT]),
            )
            mention.likes = pick.randrange(0, 500)
            mention.reposts = pick.randrange(0, 50)
            mentions.append(mention)
        await analyse(session, analyzer, org, mentions, NOW + timedelta(minutes=batch))
        batches.append(mentions)
    raw = await _raw(session, org)
    assert len(raw) == 48
    # Harm is more than negativity: a sensitive term in a post that is not negative counts.
    assert any(r.sentiment != "negative" and r.sensitive_score > 0 for r in raw)
    await _equal_to_a_recount(session, org)

    # A message delivered twice stores nothing the second time, and counts nothing.
    await analyse(session, analyzer, org, batches[1], NOW + timedelta(minutes=9))
    await _equal_to_a_recount(session, org)

    # Deleting mentions (retention, a takedown): subtract them in the same transaction.
    gone = [m.id for m in batches[0][:7]]
    await rollups.uncount(session, gone)
    await _sql(
        session, text("DELETE FROM mention WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": gone}
    )
    assert len(await _raw(session, org)) == 41
    raw = await _raw(session, org)
    # Counts are exact; the maxima stay upper bounds until a rebuild, so compare those after.
    stored = await _stored_buckets(session, org)
    _same(stored, _expected_buckets(raw))
    _same(await _stored_windows(session, org), _expected_windows(raw))

    # A rebuild puts back what a deletion without subtraction left, and the maxima.
    await _sql(
        session,
        text("DELETE FROM mention WHERE id = ANY(CAST(:ids AS uuid[]))"),
        {"ids": [m.id for m in batches[2][:5]]},
    )
    await _sql(
        session,
        text("UPDATE mention_rollup SET positive = positive + 7 WHERE organization_id = :org"),
        {"org": org},
    )
    await _sql(
        session,
        text(
            "UPDATE watchlist_window_rollup SET harmful = harmful + 2 WHERE organization_id = :org"
        ),
        {"org": org},
    )
    rebuilt = await rollups.rebuild(session, org, NOW - timedelta(days=3), NOW + timedelta(hours=1))
    assert rebuilt.start.time() == rebuilt.end.time() == datetime.min.time()
    assert len(await _raw(session, org)) == 36
    await _equal_to_a_recount(session, org)


async def test_a_rebuild_leaves_correct_rollups_unchanged_and_only_touches_its_days(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    org = await make_organization(session)
    make_watchlist(session, org, "禾岚", ["禾岚"])
    author = make_author(session, org, "网友")
    await session.flush()
    days = [NOW - timedelta(days=d, hours=3) for d in range(3)]
    mentions = [make_mention(session, org, TEXTS[0], at, author=author, views=10) for at in days]
    await analyse(session, analyzer, org, mentions, NOW)
    before = await _stored_buckets(session, org)

    await rollups.rebuild(session, org, days[0], days[0] + timedelta(minutes=1))
    assert await _stored_buckets(session, org) == before
    # Only the rebuilt day is recounted: a day outside the range keeps even a wrong count.
    await _sql(
        session,
        text("UPDATE mention_rollup SET reach = 0 WHERE organization_id = :org"),
        {"org": org},
    )
    await rollups.rebuild(session, org, days[0], days[0] + timedelta(minutes=1))
    after = await _stored_buckets(session, org)
    rebuilt_day: date = days[0].date()
    for key, values in after.items():
        assert (values[4] == 10) == (key[2].date() == rebuilt_day), key


async def _totals(session: AsyncSession, organization_id: uuid.UUID) -> dict[str, int]:
    """Mentions per rollup watchlist (hour grain), and per author in `author_rollup`."""
    buckets = await _sql(
        session,
        text(
            "SELECT watchlist_id::text, sum(positive + neutral + negative) FROM mention_rollup "
            "WHERE organization_id = :org AND grain_seconds = 3600 GROUP BY 1"
        ),
        {"org": organization_id},
    )
    authors = await _sql(
        session,
        text(
            "SELECT 'author:' || author_id::text, mention_count FROM author_rollup "
            "WHERE organization_id = :org"
        ),
        {"org": organization_id},
    )
    return {str(key): int(count) for key, count in [*buckets.all(), *authors.all()]}


async def test_a_drill_mention_counts_under_its_drill_watchlist_only(
    session: AsyncSession, analyzer: Analyzer
) -> None:
    org = await make_organization(session)
    real = make_watchlist(session, org, "禾岚", ["禾岚"])
    played = make_watchlist(session, org, "演练·product_safety·1", ["禾岚"])
    person = make_author(session, org, "网友")
    invented = make_author(session, org, "演练网友")
    await session.flush()
    drill = Drill(
        organization_id=org,
        watchlist_id=played.id,
        scenario="product_safety",
        speed=60.0,
        delivery="suppress",
        state="running",
        started_by="test",
    )
    session.add(drill)
    await session.flush()
    at = [NOW - timedelta(hours=h, minutes=7) for h in range(3)]
    mentions = [make_mention(session, org, TEXTS[0], moment, author=person) for moment in at]
    drilled = [make_mention(session, org, TEXTS[1], at[0], author=invented) for _ in range(2)]
    for mention in drilled:
        mention.drill_id = drill.id
    await analyse(session, analyzer, org, [*mentions, *drilled], NOW)

    # Counted by hand: three real posts on the real watchlist and the organization, the two
    # drill posts on the drill's watchlist only, and no author figure for the invented one.
    counted = {EVERY: 3, str(real.id): 3, str(played.id): 2, f"author:{person.id}": 3}
    assert await _totals(session, org) == counted
    await _equal_to_a_recount(session, org)

    # A rebuild applies the same rule and so changes nothing.
    await rollups.rebuild(session, org, NOW - timedelta(days=1), NOW)
    assert await _totals(session, org) == counted
    await _equal_to_a_recount(session, org)

    # Deleting a drill post moves its drill's figure, not the organization's.
    await rollups.uncount(session, [drilled[0].id])
    assert await _totals(session, org) == {**counted, str(played.id): 1}
