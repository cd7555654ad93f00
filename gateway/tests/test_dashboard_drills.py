"""Drills stay out of the dashboard and the watchlist list unless asked for: volume, share of
voice, platforms, terms and authors against figures counted by hand, with and without
`includeDrills`."""

from datetime import timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.dashboards import SINCE, UNTIL
from libs.contracts.enums import Role, Sentiment, Source
from libs.database import tables
from libs.database.engine import transaction
from tests.builders import Sessions, Tenant

# The window starts 20 seconds into a minute, so its first seconds are read from raw rows.
START = SINCE + timedelta(seconds=20)
DRILL_NAME = "演练·product_safety·1"

DASHBOARD = """
query($since: DateTime, $until: DateTime, $watchlistId: ID, $drills: Boolean!) {
  dashboard(since: $since, until: $until, watchlistId: $watchlistId, includeDrills: $drills) {
    volume(bucket: HOUR) { total negative unanalyzed }
    shareOfVoice { watchlist { name drill } mentionTotal }
    platforms { platform mentionTotal }
    topTerms(kind: TOKEN) { term mentions }
    topAuthors { handle mentionCount }
  }
}
"""
WATCHLISTS = """
query($filter: WatchlistFilter) { watchlists(filter: $filter) { name drill } }
"""


async def seed(sessions: Sessions, acme: Tenant) -> dict[str, Any]:
    """Store acme's brand watchlist with three real posts, and a drill's watchlist with two
    analysed drill posts and one not analysed yet."""
    org = acme.org.id
    async with transaction(sessions) as session:
        brand = await builders.watchlist(session, org, "禾岚乳业")
        played = await builders.watchlist(session, org, DRILL_NAME)
        drill = await builders.stored(
            session,
            tables.Drill(
                organization_id=org,
                watchlist_id=played.id,
                scenario="product_safety",
                speed=60.0,
                delivery="suppress",
                state="running",
                started_by="test",
            ),
        )
        person = await builders.author(session, org, "消费者小王")
        invented = await builders.author(session, org, "演练网友")
        real = [
            # (seconds after START, platform, sentiment); the first is in the raw edge.
            (10, Source.WEIBO, Sentiment.NEGATIVE),
            (1800, Source.WEIBO, Sentiment.POSITIVE),
            (5700, Source.DOUYIN, Sentiment.NEUTRAL),
        ]
        for seconds, source, sentiment in real:
            row = await builders.mention(
                session,
                org,
                posted_at=START + timedelta(seconds=seconds),
                source=source,
                author_id=person.id,
            )
            await builders.analysis(session, row, sentiment, [brand])
        for seconds in (15, 3600):
            row = await builders.mention(
                session,
                org,
                posted_at=START + timedelta(seconds=seconds),
                source=Source.XIAOHONGSHU,
                author_id=invented.id,
                drill_id=drill.id,
            )
            await builders.analysis(
                session, row, Sentiment.NEGATIVE, [played], tokens=["召回", "奶粉"]
            )
        await builders.mention(
            session, org, posted_at=START + timedelta(seconds=4000), drill_id=drill.id
        )
    return {"brand": brand, "played": played}


async def _dashboard(gql: GraphQL, acme: Tenant, **arguments: Any) -> Any:
    variables = {"since": START.isoformat(), "until": UNTIL.isoformat(), **arguments}
    body = await gql(acme.auth(Role.VIEWER), DASHBOARD, variables)
    assert "errors" not in body, body
    found = body["data"]["dashboard"]
    volume = found["volume"]
    return {
        "volume": tuple(sum(p[f] for p in volume) for f in ("total", "negative", "unanalyzed")),
        "shares": [
            (s["watchlist"]["name"], s["watchlist"]["drill"], int(s["mentionTotal"]))
            for s in found["shareOfVoice"]
        ],
        "platforms": [(p["platform"], int(p["mentionTotal"])) for p in found["platforms"]],
        "terms": {t["term"]: t["mentions"] for t in found["topTerms"]},
        "authors": [(a["handle"], a["mentionCount"]) for a in found["topAuthors"]],
    }


async def test_the_dashboard_leaves_drills_out_unless_asked(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    seeded = await seed(sessions, acme)

    real = await _dashboard(gql, acme, drills=False)
    # Three real posts, one negative; the drill's three (one unanalysed) count nowhere.
    assert real["volume"] == (3, 1, 0)
    assert real["shares"] == [("禾岚乳业", False, 3)]
    assert real["platforms"] == [("WEIBO", 2), ("DOUYIN", 1)]
    assert real["terms"] == {"奶粉": 3, "客服": 3, "拉肚子": 3}
    assert real["authors"] == [("消费者小王", 3)]

    drills = await _dashboard(gql, acme, drills=True)
    # The drill's two analysed posts (negative, on Xiaohongshu) and its unanalysed one join.
    assert drills["volume"] == (6, 3, 1)
    assert drills["shares"] == [("禾岚乳业", False, 3), (DRILL_NAME, True, 2)]
    assert drills["platforms"] == [("WEIBO", 2), ("XIAOHONGSHU", 2), ("DOUYIN", 1)]
    assert drills["terms"] == {"奶粉": 5, "客服": 3, "拉肚子": 3, "召回": 2}
    # A drill's authors are invented: never ranked.
    assert drills["authors"] == [("消费者小王", 3)]

    # Asked for the drill's own watchlist, the dashboard counts its analysed posts.
    played = gid("Watchlist", seeded["played"].id)
    own = await _dashboard(gql, acme, drills=False, watchlistId=played)
    assert own["volume"] == (2, 2, 0)
    assert own["platforms"] == [("XIAOHONGSHU", 2)]


async def test_watchlists_leave_drills_out_unless_included(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await seed(sessions, acme)
    for given, names in [
        (None, [("禾岚乳业", False)]),
        ({"includeDrills": False}, [("禾岚乳业", False)]),
        ({"includeDrills": True}, [(DRILL_NAME, True), ("禾岚乳业", False)]),
    ]:
        body = await gql(acme.auth(Role.VIEWER), WATCHLISTS, {"filter": given})
        assert "errors" not in body, body
        listed = [(w["name"], w["drill"]) for w in body["data"]["watchlists"]]
        assert sorted(listed) == sorted(names), given
    theirs = await gql(rival.auth(Role.VIEWER), WATCHLISTS, {"filter": {"includeDrills": True}})
    assert theirs["data"]["watchlists"] == []
