"""The dashboard's figures equal what the stored rows give when counted here by hand."""

import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.dashboards import SINCE, UNTIL, dashboard
from libs.contracts.enums import Role, Sentiment, Tier
from libs.database.engine import transaction
from libs.database.tables import Author, Watchlist
from tests.builders import Sessions, Tenant


@dataclass(frozen=True)
class Post:
    """A stored mention as the test remembers it."""

    id: uuid.UUID
    posted_at: datetime
    sentiment: Sentiment | None
    score: float | None
    watchlists: tuple[uuid.UUID, ...]
    keywords: tuple[str, ...]
    hashtags: tuple[str, ...]
    tokens: tuple[str, ...]
    sensitive: tuple[str, ...]
    author: Author | None
    views: int


async def seed_mentions(sessions: Sessions, acme: Tenant, rival: Tenant) -> dict[str, Any]:
    """Store acme mentions in and around the window on two of three watchlists."""
    async with transaction(sessions) as session:
        milk = await builders.watchlist(session, acme.org.id, "奶粉质量")
        shipping = await builders.watchlist(session, acme.org.id, "物流延误")
        quiet = await builders.watchlist(session, acme.org.id, "门店服务")
        poster = await builders.author(session, acme.org.id, "宝妈日记", followers=50_000)
        media = await builders.author(session, acme.org.id, "财经媒体", followers=2_000_000)
        posts: list[Post] = []
        sentiments = [Sentiment.NEGATIVE, Sentiment.NEUTRAL, Sentiment.POSITIVE, None]
        for i in range(22):
            posted_at = T0 - timedelta(minutes=20) + timedelta(minutes=17 * i)
            sentiment = sentiments[i % 4] if i % 7 else Sentiment.NEGATIVE
            watched: tuple[uuid.UUID, ...] = (
                (milk.id,) if i % 3 == 0 else (shipping.id,) if i % 3 == 1 else ()
            )
            if i % 5 == 0 and sentiment is not None:
                watched = (milk.id, shipping.id)
            author = media if i % 4 == 1 else poster if i % 4 == 2 else None
            row = await builders.mention(
                session,
                acme.org.id,
                posted_at=posted_at,
                author_id=author.id if author else None,
                views=100 * i,
            )
            keywords: tuple[str, ...] = (
                ("奶粉", "拉肚子") if milk.id in watched else ("快递",) if watched else ()
            )
            hashtags: tuple[str, ...] = ("#禾岚奶粉#",) if i % 2 else ()
            tokens: tuple[str, ...] = (
                ("奶粉", "的", "奶粉", "客服", "了") if i % 3 else ("快递", "的")
            )
            sensitive: tuple[str, ...] = (
                ("致癌",) if i % 6 == 0 else ("维权", "致癌") if i % 6 == 3 else ()
            )
            score = None
            if sentiment is not None:
                score = {"negative": -0.75, "neutral": 0.0, "positive": 0.5}[sentiment.value]
                await builders.analysis(
                    session,
                    row,
                    sentiment,
                    [w for w in (milk, shipping) if w.id in watched],
                    sentiment_score=score,
                    matched_keywords=list(keywords),
                    hashtags=list(hashtags),
                    tokens=list(tokens),
                    sensitive_hits=[
                        {"term": term, "category": "safety", "weight": 0.8} for term in sensitive
                    ],
                )
            else:
                watched, keywords, hashtags, tokens, sensitive = (), (), (), (), ()
            posts.append(
                Post(
                    row.id,
                    posted_at,
                    sentiment,
                    score,
                    watched,
                    keywords,
                    hashtags,
                    tokens,
                    sensitive,
                    author,
                    row.views,
                )
            )
        theirs = await builders.watchlist(session, rival.org.id, "奶粉质量")
        for i in range(3):
            loud = await builders.mention(
                session, rival.org.id, posted_at=SINCE + timedelta(minutes=i), views=10**6
            )
            await builders.analysis(
                session, loud, Sentiment.NEGATIVE, [theirs], matched_keywords=["奶粉"]
            )
    return {"posts": posts, "milk": milk, "shipping": shipping, "quiet": quiet}


def inside(posts: list[Post]) -> list[Post]:
    """Return the posts of the dashboard's window."""
    return [p for p in posts if SINCE <= p.posted_at < UNTIL]


def buckets(posts: list[Post], width: timedelta, origin: datetime) -> list[dict[str, Any]]:
    """Count `posts` (all inside the window) per bucket, every bucket of the window listed."""
    start = origin + ((SINCE - origin) // width) * width
    out = []
    while start < UNTIL:
        members = [p for p in posts if start <= p.posted_at < start + width]
        judged = [p for p in members if p.sentiment is not None]
        count = Counter(p.sentiment for p in judged)
        scores = [p.score for p in judged if p.score is not None]
        out.append(
            {
                "start": start.isoformat(),
                "total": len(members),
                "positive": count[Sentiment.POSITIVE],
                "neutral": count[Sentiment.NEUTRAL],
                "negative": count[Sentiment.NEGATIVE],
                "unanalyzed": len(members) - len(judged),
                "negativeShare": count[Sentiment.NEGATIVE] / len(judged) if judged else None,
                "averageSentimentScore": sum(scores) / len(scores) if scores else None,
            }
        )
        start += width
    return out


VOLUME = (
    "volume(bucket: $bucket, utcOffsetMinutes: $offset) {"
    " start total positive neutral negative unanalyzed negativeShare averageSentimentScore }"
)


def close(actual: list[dict[str, Any]], expected: list[dict[str, Any]]) -> None:
    """Compare bucket lists, floats to within rounding."""
    assert len(actual) == len(expected)
    for got, want in zip(actual, expected, strict=True):
        for key, value in want.items():
            if isinstance(value, float):
                assert math.isclose(got[key], value, abs_tol=1e-9), (key, got, want)
            else:
                assert got[key] == value, (key, got, want)


async def test_volume_counts_each_bucket_by_sentiment_including_empty_ones(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    seeded = await seed_mentions(sessions, acme, rival)
    posts = inside(seeded["posts"])
    query = (
        "query($since: DateTime, $until: DateTime, $watchlistId: ID,"
        " $bucket: TimeBucket!, $offset: Int!) {"
        " dashboard(since: $since, until: $until, watchlistId: $watchlistId) {"
        " since until " + VOLUME + " } }"
    )
    midnight = datetime(2000, 1, 3, tzinfo=UTC)
    cases = [
        ("HOUR", 0, timedelta(hours=1), midnight, None),
        ("FIFTEEN_MINUTES", 0, timedelta(minutes=15), midnight, None),
        ("DAY", 480, timedelta(days=1), midnight - timedelta(hours=8), None),
        ("HOUR", 0, timedelta(hours=1), midnight, seeded["milk"].id),
    ]
    for bucket, offset, width, origin, watchlist in cases:
        variables = {
            "since": SINCE.isoformat(),
            "until": UNTIL.isoformat(),
            "bucket": bucket,
            "offset": offset,
            "watchlistId": gid("Watchlist", watchlist) if watchlist else None,
        }
        body = await gql(acme.auth(Role.VIEWER), query, variables)
        assert "errors" not in body, body
        found = body["data"]["dashboard"]
        counted = [p for p in posts if watchlist is None or watchlist in p.watchlists]
        expected = buckets(counted, width, origin)
        close(found["volume"], expected)
        assert sum(point["total"] for point in found["volume"]) == len(counted)
    assert found["since"] == SINCE.isoformat() and found["until"] == UNTIL.isoformat()
    # The cases cover buckets that start before `since` and buckets with nothing in them.
    assert buckets(posts, timedelta(hours=1), midnight)[0]["start"] == T0.isoformat()
    assert any(point["total"] == 0 for point in buckets(posts, timedelta(minutes=15), midnight))


async def test_volume_refuses_too_many_buckets_and_bad_windows(gql: GraphQL, acme: Tenant) -> None:
    query = """query($since: DateTime, $until: DateTime, $bucket: TimeBucket!) {
      dashboard(since: $since, until: $until) { volume(bucket: $bucket) { total } } }"""

    async def refusal(since: datetime, until: datetime, bucket: str = "HOUR") -> str:
        variables = {"since": since.isoformat(), "until": until.isoformat(), "bucket": bucket}
        body = await gql(acme.auth(Role.VIEWER), query, variables)
        assert body["data"] is None, body
        return str(body["errors"][0]["message"])

    message = await refusal(T0, T0 + timedelta(days=2), "MINUTE")
    assert message.startswith("`bucket` MINUTE makes 2880 buckets")
    assert "at most 1000" in message
    assert await refusal(T0, T0) == "`since` must be before `until`."
    assert "400 days" in await refusal(T0 - timedelta(days=401), T0, "DAY")
    fine = {"since": T0.isoformat(), "until": (T0 + timedelta(days=2)).isoformat()}
    body = await gql(acme.auth(Role.VIEWER), query, {**fine, "bucket": "FIVE_MINUTES"})
    assert len(body["data"]["dashboard"]["volume"]) == 576


async def test_default_window_is_the_last_day(gql: GraphQL, acme: Tenant) -> None:
    before = datetime.now(UTC)
    body = await gql(acme.auth(Role.VIEWER), "{ dashboard { since until } }")
    after = datetime.now(UTC)
    since = datetime.fromisoformat(body["data"]["dashboard"]["since"])
    until = datetime.fromisoformat(body["data"]["dashboard"]["until"])
    assert before <= until <= after
    assert until - since == timedelta(hours=24)


async def test_share_of_voice_and_top_terms_count_the_window_only(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    seeded = await seed_mentions(sessions, acme, rival)
    posts = inside(seeded["posts"])
    watchlists: list[Watchlist] = [seeded["milk"], seeded["shipping"], seeded["quiet"]]
    found = await dashboard(
        gql,
        acme,
        "shareOfVoice { watchlist { databaseId name } mentions negative share negativeShare }",
    )
    counts = {w.id: sum(w.id in p.watchlists for p in posts) for w in watchlists}
    negatives = {
        w.id: sum(w.id in p.watchlists and p.sentiment is Sentiment.NEGATIVE for p in posts)
        for w in watchlists
    }
    whole = sum(counts.values())
    ranked = sorted(watchlists, key=lambda w: (-counts[w.id], w.name))
    assert [s["watchlist"]["databaseId"] for s in found["shareOfVoice"]] == [
        str(w.id) for w in ranked
    ]
    for share, watchlist in zip(found["shareOfVoice"], ranked, strict=True):
        assert share["mentions"] == counts[watchlist.id]
        assert share["negative"] == negatives[watchlist.id]
        assert math.isclose(share["share"], counts[watchlist.id] / whole)
        if counts[watchlist.id]:
            assert math.isclose(
                share["negativeShare"], negatives[watchlist.id] / counts[watchlist.id]
            )
        else:
            assert share["negativeShare"] is None
    assert found["shareOfVoice"][-1]["mentions"] == 0, "a silent watchlist is listed too"

    selection = " ".join(
        f"{kind.lower()}: topTerms(kind: {kind}, first: 3) {{ term mentions negative }}"
        for kind in ("KEYWORD", "HASHTAG", "SENSITIVE", "TOKEN")
    )
    terms = await dashboard(gql, acme, selection)
    fields = {
        "keyword": "keywords",
        "hashtag": "hashtags",
        "sensitive": "sensitive",
        "token": "tokens",
    }
    for kind, attribute in fields.items():
        carried: Counter[str] = Counter()
        negative: Counter[str] = Counter()
        for post in posts:
            for term in set(getattr(post, attribute)):
                if kind == "token" and len(term) < 2:
                    continue
                carried[term] += 1
                negative[term] += post.sentiment is Sentiment.NEGATIVE
        expected = sorted(carried, key=lambda term: (-carried[term], term))[:3]
        assert [t["term"] for t in terms[kind]] == expected, kind
        assert [t["mentions"] for t in terms[kind]] == [carried[t] for t in expected], kind
        assert [t["negative"] for t in terms[kind]] == [negative[t] for t in expected], kind
    assert "的" not in {t["term"] for t in terms["token"]}

    only_milk = await dashboard(
        gql,
        acme,
        "topTerms(kind: KEYWORD, first: 10) { term mentions }",
        watchlistId=gid("Watchlist", seeded["milk"].id),
    )
    milk_posts = [p for p in posts if seeded["milk"].id in p.watchlists]
    keywords = Counter(k for p in milk_posts for k in set(p.keywords))
    assert {t["term"]: t["mentions"] for t in only_milk["topTerms"]} == dict(keywords)


async def test_top_authors_rank_the_window_by_mentions_or_reach(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    seeded = await seed_mentions(sessions, acme, rival)
    posts = [p for p in inside(seeded["posts"]) if p.author is not None]
    found = await dashboard(
        gql,
        acme,
        """byCount: topAuthors(first: 5) { handle mentionCount reach }
           byReach: topAuthors(by: REACH, first: 1) { handle reach }""",
    )
    count = Counter(p.author.handle for p in posts if p.author)
    reach: Counter[str] = Counter()
    for post in posts:
        if post.author:
            reach[post.author.handle] += post.views
    assert {a["handle"]: a["mentionCount"] for a in found["byCount"]} == dict(count)
    assert {a["handle"]: a["reach"] for a in found["byCount"]} == dict(reach)
    assert [a["mentionCount"] for a in found["byCount"]] == sorted(count.values(), reverse=True)
    top = max(reach, key=lambda handle: reach[handle])
    assert found["byReach"] == [{"handle": top, "reach": reach[top]}]


async def test_another_organizations_rows_never_reach_the_dashboard(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await seed_mentions(sessions, acme, rival)
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, rival.org.id, "物流")
        await builders.incident(session, watched, detected_at=SINCE, tier=Tier.RED)
    theirs = await dashboard(
        gql,
        rival,
        """volume(bucket: HOUR) { total } shareOfVoice { mentions watchlist { name } }
           topTerms { term mentions } topAuthors { handle }
           incidents { detected openIncidents }""",
    )
    assert sum(point["total"] for point in theirs["volume"]) == 3
    assert {s["watchlist"]["name"]: s["mentions"] for s in theirs["shareOfVoice"]} == {
        "奶粉质量": 3,
        "物流": 0,
    }
    assert theirs["topTerms"] == [{"term": "奶粉", "mentions": 3}]
    assert theirs["topAuthors"] == []
    assert theirs["incidents"] == {"detected": 1, "openIncidents": 1}
    mine = await dashboard(gql, acme, "incidents { detected openIncidents }")
    assert mine["incidents"] == {"detected": 0, "openIncidents": 0}
