"""Share of voice by watchlist kind and the per-platform breakdown (信息来源), against
figures counted by hand from a small fixed set of mentions."""

import math
from datetime import timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.dashboards import SINCE, UNTIL, dashboard
from libs.contracts.enums import Sentiment, Source
from libs.database.engine import transaction
from tests.builders import Sessions, Tenant

NEG, NEU, POS = Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE
SCORES = {NEG: -0.75, NEU: 0.0, POS: 0.5}
# The window starts 20 seconds into a minute, so its first seconds are read from raw rows.
START = SINCE + timedelta(seconds=20)

# Counts are BigInt, which travels as a string of digits.
WIDE = ("mentionTotal", "positiveTotal", "neutralTotal", "negativeTotal")
WIDE_PLATFORM = ("mentionTotal", "positive", "neutral", "negative")


def counted(rows: list[dict[str, Any]], fields: tuple[str, ...]) -> list[dict[str, Any]]:
    """Return the rows with their BigInt counts read as whole numbers."""
    return [{**row, **{field: int(row[field]) for field in fields}} for row in rows]


SHARES = """shareOfVoice(kinds: $kinds) {
  watchlist { name kind kindLabel currentTier }
  mentionTotal positiveTotal neutralTotal negativeTotal share negativeShare averageSentimentScore
}"""
PLATFORMS = """platforms {
  platform label mentionTotal positive neutral negative share negativeShare averageSentimentScore
}"""


async def seed(sessions: Sessions, acme: Tenant, rival: Tenant) -> dict[str, Any]:
    """Store acme's five watchlists, one of each kind and two competitors, and the mentions."""
    org = acme.org.id
    async with transaction(sessions) as session:
        own = await builders.watchlist(session, org, "禾岚乳业", current_tier="orange")
        line = await builders.watchlist(session, org, "启护系列", kind="product_line")
        first = await builders.watchlist(
            session, org, "竞品甲", kind="competitor", current_tier="red"
        )
        second = await builders.watchlist(session, org, "竞品乙", kind="competitor")
        trade = await builders.watchlist(session, org, "婴幼儿奶粉行业", kind="industry")
        at = START + timedelta(seconds=10)  # raw: before the first whole minute
        posts = [
            # (minutes after `at`, platform, sentiment or None when unanalysed, watchlists)
            (0, Source.WEIBO, NEG, [own]),
            (30, Source.WEIBO, NEG, [own]),
            (95, Source.WEIBO, NEG, [own]),
            (200, Source.WEIBO, POS, [own]),
            (61, Source.WEIBO, NEU, [first]),
            (5, Source.XIAOHONGSHU, POS, [first]),
            (125, Source.XIAOHONGSHU, POS, [first]),
            (180, Source.XIAOHONGSHU, NEG, [trade]),
            (240, Source.DOUYIN, NEG, [own, second]),
            (150, Source.NEWS, NEU, []),
            (100, Source.ZHIHU, None, []),  # not analysed yet: no platform figure
        ]
        for minutes, source, sentiment, watched in posts:
            row = await builders.mention(
                session, org, posted_at=at + timedelta(minutes=minutes), source=source
            )
            if sentiment is not None:
                score = SCORES[sentiment]
                await builders.analysis(session, row, sentiment, watched, sentiment_score=score)
        # Outside the window: 10 seconds before it starts, and at its (exclusive) end.
        for posted_at in (START - timedelta(seconds=10), UNTIL):
            row = await builders.mention(session, org, posted_at=posted_at)
            await builders.analysis(session, row, NEG, [own, first])
        theirs = await builders.watchlist(session, rival.org.id, "竞品甲", kind="competitor")
        for minutes in (1, 2):
            row = await builders.mention(
                session,
                rival.org.id,
                posted_at=at + timedelta(minutes=minutes),
                source=Source.DOUYIN,
            )
            await builders.analysis(session, row, NEG, [theirs])
    return {"own": own, "line": line}


async def test_share_of_voice_sets_the_brand_against_its_competitors(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await seed(sessions, acme, rival)
    query = SHARES
    found = await dashboard(
        gql,
        acme,
        query.replace("$kinds", "[OWN_BRAND, COMPETITOR]"),
        since=START.isoformat(),
    )
    rows = counted(found["shareOfVoice"], WIDE)
    # Own brand: 3 negative and 1 positive on Weibo, 1 negative on Douyin; 竞品甲: 1 neutral
    # on Weibo, 2 positive on Xiaohongshu; 竞品乙: the Douyin post it shares with the brand.
    assert [(r["watchlist"]["name"], r["mentionTotal"]) for r in rows] == [
        ("禾岚乳业", 5),
        ("竞品甲", 3),
        ("竞品乙", 1),
    ]
    brand, rival_first, rival_second = rows
    assert brand["watchlist"] == {
        "name": "禾岚乳业",
        "kind": "OWN_BRAND",
        "kindLabel": "本品牌",
        "currentTier": "ORANGE",
    }
    assert rival_first["watchlist"]["kind"] == "COMPETITOR"
    assert rival_first["watchlist"]["kindLabel"] == "竞品"
    assert rival_first["watchlist"]["currentTier"] == "RED"
    assert [(r["positiveTotal"], r["neutralTotal"], r["negativeTotal"]) for r in rows] == [
        (1, 0, 4),
        (2, 1, 0),
        (0, 0, 1),
    ]
    for row, mentions in zip(rows, (5, 3, 1), strict=True):
        assert math.isclose(row["share"], mentions / 9)
    assert math.isclose(brand["negativeShare"], 4 / 5)
    assert math.isclose(brand["averageSentimentScore"], (4 * -0.75 + 0.5) / 5)
    assert math.isclose(rival_first["averageSentimentScore"], (2 * 0.5 + 0.0) / 3)
    assert math.isclose(rival_second["averageSentimentScore"], -0.75)

    every = await dashboard(
        gql, acme, query.replace("(kinds: $kinds)", ""), since=START.isoformat()
    )
    listed = {r["watchlist"]["name"]: r for r in counted(every["shareOfVoice"], WIDE)}
    assert {name: r["mentionTotal"] for name, r in listed.items()} == {
        "禾岚乳业": 5,
        "竞品甲": 3,
        "竞品乙": 1,
        "婴幼儿奶粉行业": 1,
        "启护系列": 0,
    }
    assert listed["婴幼儿奶粉行业"]["watchlist"]["kindLabel"] == "行业"
    assert listed["启护系列"]["watchlist"]["kind"] == "PRODUCT_LINE"
    assert math.isclose(listed["禾岚乳业"]["share"], 5 / 10)
    assert listed["启护系列"]["averageSentimentScore"] is None

    none = await dashboard(gql, acme, query.replace("$kinds", "[]"), since=START.isoformat())
    assert none["shareOfVoice"] == []


async def test_platforms_break_the_window_down_by_source_with_chinese_labels(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    seeded = await seed(sessions, acme, rival)
    answer = await dashboard(gql, acme, PLATFORMS, since=START.isoformat())
    found = counted(answer["platforms"], WIDE_PLATFORM)
    # Ten analysed mentions in the window: Weibo 5 (3 negative, 1 neutral, 1 positive),
    # Xiaohongshu 3 (2 positive, 1 negative), Douyin 1 and news 1; Zhihu's is unanalysed.
    expected = [
        ("WEIBO", "微博", 5, 1, 1, 3, (3 * -0.75 + 0.5) / 5),
        ("XIAOHONGSHU", "小红书", 3, 2, 0, 1, (2 * 0.5 - 0.75) / 3),
        ("DOUYIN", "抖音", 1, 0, 0, 1, -0.75),
        ("NEWS", "新闻网站", 1, 0, 1, 0, 0.0),
    ]
    assert [
        (p["platform"], p["label"], p["mentionTotal"], p["positive"], p["neutral"], p["negative"])
        for p in found
    ] == [row[:6] for row in expected]
    for platform, row in zip(found, expected, strict=True):
        assert math.isclose(platform["share"], row[2] / 10)
        assert math.isclose(platform["negativeShare"], row[5] / row[2])
        assert math.isclose(platform["averageSentimentScore"], row[6], abs_tol=1e-9)

    own = await dashboard(
        gql,
        acme,
        PLATFORMS,
        since=START.isoformat(),
        watchlistId=gid("Watchlist", seeded["own"].id),
    )
    assert [
        (p["platform"], p["mentionTotal"], p["negative"])
        for p in counted(own["platforms"], WIDE_PLATFORM)
    ] == [
        ("WEIBO", 4, 3),
        ("DOUYIN", 1, 1),
    ]
    assert math.isclose(own["platforms"][0]["share"], 4 / 5)

    silent = await dashboard(
        gql,
        acme,
        PLATFORMS,
        since=START.isoformat(),
        watchlistId=gid("Watchlist", seeded["line"].id),
    )
    assert silent["platforms"] == []
