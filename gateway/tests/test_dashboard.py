"""The dashboard's figures equal what the stored rows give when counted here by hand."""

import math
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import rows
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.rows import T0
from libs.contracts.enums import IncidentStatus, Role, Sentiment, TaskStatus, Tier
from libs.database.engine import transaction
from libs.database.tables import Author, Incident, ResponseTask, Watchlist
from tests.builders import Tenant

Sessions = async_sessionmaker[AsyncSession]

SINCE = T0 + timedelta(minutes=10)
UNTIL = T0 + timedelta(hours=5, minutes=10)


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
        milk = await rows.watchlist(session, acme.org.id, "奶粉质量")
        shipping = await rows.watchlist(session, acme.org.id, "物流延误")
        quiet = await rows.watchlist(session, acme.org.id, "门店服务")
        poster = await rows.author(session, acme.org.id, "宝妈日记", followers=50_000)
        media = await rows.author(session, acme.org.id, "财经媒体", followers=2_000_000)
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
            row = await rows.mention(
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
                await rows.analysis(
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
        theirs = await rows.watchlist(session, rival.org.id, "奶粉质量")
        for i in range(3):
            loud = await rows.mention(
                session, rival.org.id, posted_at=SINCE + timedelta(minutes=i), views=10**6
            )
            await rows.analysis(
                session, loud, Sentiment.NEGATIVE, [theirs], matched_keywords=["奶粉"]
            )
    return {"posts": posts, "milk": milk, "shipping": shipping, "quiet": quiet}


def inside(posts: list[Post]) -> list[Post]:
    """Return the posts of the dashboard's window."""
    return [p for p in posts if SINCE <= p.posted_at < UNTIL]


async def dashboard(gql: GraphQL, tenant: Tenant, selection: str, **arguments: Any) -> Any:
    """Return the `dashboard` object of one query, failing on any error."""
    query = (
        "query($since: DateTime, $until: DateTime, $watchlistId: ID) {"
        " dashboard(since: $since, until: $until, watchlistId: $watchlistId) { "
        + selection
        + " } }"
    )
    variables = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), **arguments}
    body = await gql(tenant.auth(Role.VIEWER), query, variables)
    assert "errors" not in body, body
    return body["data"]["dashboard"]


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


def percentile(values: list[float], fraction: float) -> float:
    """The continuous percentile PostgreSQL's percentile_cont computes."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_incident_metrics_match_the_incidents_and_tasks_stored(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    now = datetime.now(UTC)
    plan = [
        # tier, status, detected after SINCE, minutes to acknowledge
        (Tier.RED, IncidentStatus.RESPONDING, timedelta(minutes=5), 12),
        (Tier.ORANGE, IncidentStatus.RESOLVED, timedelta(hours=1), 45),
        (Tier.ORANGE, IncidentStatus.ACKNOWLEDGED, timedelta(hours=2), 20),
        (Tier.YELLOW, IncidentStatus.DETECTED, timedelta(hours=3), None),
        (Tier.RED, IncidentStatus.CLOSED, timedelta(hours=4), 95),
        (Tier.RED, IncidentStatus.RESPONDING, -timedelta(hours=3), 5),  # before the window
    ]
    async with transaction(sessions) as session:
        made: list[Incident] = []
        tasks: list[ResponseTask] = []
        for i, (tier, status, after, waited) in enumerate(plan):
            watched = await rows.watchlist(session, acme.org.id, f"清单{i}")
            opened = await rows.incident(
                session, watched, detected_at=SINCE + after, status=status, tier=tier
            )
            if waited is not None:
                opened.acknowledged_at = opened.detected_at + timedelta(minutes=waited)
            made.append(opened)
            # On time, done late, found breached then done, overdue, and not yet due.
            outcomes = [
                ("ack", timedelta(minutes=30), TaskStatus.DONE, timedelta(minutes=10), None),
                ("scope", timedelta(hours=2), TaskStatus.DONE, timedelta(hours=3), None),
                ("stmt", timedelta(hours=4), TaskStatus.DONE, timedelta(hours=4), True),
                ("detail", timedelta(hours=24), TaskStatus.OPEN, None, None),
                ("plan", now - opened.detected_at + timedelta(days=3), TaskStatus.OPEN, None, None),
            ][: 2 + i % 4]
            for position, (kind, due_in, status_, done_in, breached) in enumerate(outcomes):
                task = await rows.task(session, opened, kind, kind, position, due_in, status_)
                if done_in is not None:
                    task.completed_at = opened.detected_at + done_in
                if breached:
                    task.breached_at = task.due_at
                tasks.append(task)
        foreign = await rows.incident(
            session, await rows.watchlist(session, rival.org.id), detected_at=SINCE, tier=Tier.RED
        )
        foreign.acknowledged_at = SINCE + timedelta(hours=9)
        await rows.task(session, foreign, "ack", "ack", 0, timedelta(minutes=1))

    in_window = [o for o in made if SINCE <= o.detected_at < UNTIL]
    found = await dashboard(
        gql,
        acme,
        """incidents {
          detected byTier { tier count } byStatus { status count } acknowledged
          timeToAcknowledgeMedianSeconds timeToAcknowledgeP90Seconds
          deadlinesMet deadlinesMissed tasksDoneLate tasksOverdue tasksPending
          deadlineMetShare overdueOpenTasks openIncidents
        }""",
    )
    metrics = found["incidents"]
    assert metrics["detected"] == len(in_window) == 5
    tiers = Counter(o.tier for o in in_window)
    assert metrics["byTier"] == [{"tier": tier.name, "count": tiers[tier.value]} for tier in Tier]
    statuses = Counter(o.status for o in in_window)
    assert metrics["byStatus"] == [
        {"status": status.name, "count": statuses[status.value]} for status in IncidentStatus
    ]
    waits = [
        (o.acknowledged_at - o.detected_at).total_seconds()
        for o in in_window
        if o.acknowledged_at is not None
    ]
    assert metrics["acknowledged"] == len(waits) == 4
    assert math.isclose(metrics["timeToAcknowledgeMedianSeconds"], percentile(waits, 0.5))
    assert math.isclose(metrics["timeToAcknowledgeP90Seconds"], percentile(waits, 0.9))

    window_ids = {o.id for o in in_window}
    outcome: Counter[str] = Counter()
    for task in tasks:
        if task.incident_id not in window_ids:
            continue
        if task.status == TaskStatus.DONE.value:
            late = task.breached_at is not None or (
                task.completed_at is not None and task.completed_at > task.due_at
            )
            outcome["late" if late else "on_time"] += 1
        elif task.breached_at is not None or task.due_at < now:
            outcome["overdue"] += 1
        else:
            outcome["pending"] += 1
    assert metrics["deadlinesMet"] == outcome["on_time"]
    assert metrics["tasksDoneLate"] == outcome["late"]
    assert metrics["tasksOverdue"] == outcome["overdue"]
    assert metrics["tasksPending"] == outcome["pending"]
    missed = outcome["late"] + outcome["overdue"]
    assert metrics["deadlinesMissed"] == missed
    assert math.isclose(
        metrics["deadlineMetShare"], outcome["on_time"] / (outcome["on_time"] + missed)
    )
    assert min(outcome.values()) > 0, "every outcome is exercised"

    open_statuses = {s.value for s in IncidentStatus if s.is_open}
    open_ids = {o.id for o in made if o.status in open_statuses}
    overdue_now = [
        t
        for t in tasks
        if t.incident_id in open_ids
        and t.status != TaskStatus.DONE.value
        and (t.breached_at is not None or t.due_at < now)
    ]
    assert metrics["overdueOpenTasks"] == len(overdue_now)
    assert metrics["openIncidents"] == len(open_ids)

    one = made[0]
    scoped = await dashboard(
        gql,
        acme,
        "incidents { detected acknowledged timeToAcknowledgeMedianSeconds openIncidents }",
        watchlistId=gid("Watchlist", one.watchlist_id),
    )
    assert scoped["incidents"] == {
        "detected": 1,
        "acknowledged": 1,
        "timeToAcknowledgeMedianSeconds": 12 * 60.0,
        "openIncidents": 1,
    }


async def test_another_organizations_rows_never_reach_the_dashboard(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await seed_mentions(sessions, acme, rival)
    async with transaction(sessions) as session:
        watched = await rows.watchlist(session, rival.org.id, "物流")
        await rows.incident(session, watched, detected_at=SINCE, tier=Tier.RED)
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
