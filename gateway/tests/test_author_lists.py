"""Authors listed with what they posted, counted over the filter's window and watchlist."""

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.connections import walk
from libs.contracts.enums import (
    Role,
    Sentiment,
)
from libs.database.engine import transaction
from libs.database.tables import (
    Mention,
)
from tests.builders import Sessions, Tenant

# --- authors ------------------------------------------------------------------------------


AUTHORS = """
query($first: Int, $after: String, $filter: AuthorFilter, $orderBy: AuthorOrder) {
  authors(first: $first, after: $after, filter: $filter, orderBy: $orderBy) {
    edges { node {
      databaseId handle source kind followers verified
      mentionCount negativeCount reach engagement influence lastPostedAt
    } }
  }
}
"""


async def test_authors_count_their_mentions_in_the_window_and_sort_by_each_figure(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        people = [
            await builders.author(session, acme.org.id, "消费者小王", followers=300),
            await builders.media_outlet(session, acme.org.id, followers=2_000_000),
            await builders.author(session, acme.org.id, "宝妈日记", followers=50_000, kind="kol"),
            await builders.author(session, acme.org.id, "沉默用户", followers=10),
        ]
        posts: list[tuple[Mention, Sentiment | None, float, bool]] = []
        plan = [
            (0, 0, 100, Sentiment.NEGATIVE, 0.1, True),
            (0, 1, 50, Sentiment.NEGATIVE, 0.2, False),
            (0, 2, 0, None, 0.0, False),
            (1, 1, 90_000, Sentiment.NEUTRAL, 0.95, True),
            (1, 30, 10_000, Sentiment.NEGATIVE, 0.9, True),  # outside the window below
            (2, 3, 5_000, Sentiment.POSITIVE, 0.6, False),
            (2, 4, 5_000, Sentiment.NEGATIVE, 0.4, True),
        ]
        for who, hours, views, sentiment, influence, matched in plan:
            row = await builders.mention(
                session,
                acme.org.id,
                posted_at=T0 + timedelta(hours=hours),
                author_id=people[who].id,
                views=views,
                likes=hours,
                comments=1,
            )
            if sentiment is not None:
                await builders.analysis(
                    session, row, sentiment, [watched] if matched else [], influence=influence
                )
            posts.append((row, sentiment, influence, matched))
        stranger = await builders.author(session, rival.org.id, "消费者小王", followers=10**8)
        await builders.mention(
            session, rival.org.id, posted_at=T0, author_id=stranger.id, views=10**9
        )

    until = T0 + timedelta(hours=24)

    def figures(test: Callable[[Mention, bool], bool]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for row, sentiment, influence, matched in posts:
            # Author figures count analysed mentions: an unanalysed one counts once analysed.
            if sentiment is None or not test(row, matched):
                continue
            author = next(p for p in people if p.id == row.author_id)
            seen = out.setdefault(
                str(author.id),
                {
                    "mentionCount": 0,
                    "negativeCount": 0,
                    "reach": 0,
                    "engagement": 0,
                    "influence": 0.0,
                    "lastPostedAt": row.posted_at,
                    "followers": author.followers,
                },
            )
            seen["mentionCount"] += 1
            seen["negativeCount"] += sentiment is Sentiment.NEGATIVE
            seen["reach"] += row.views
            seen["engagement"] += row.reposts + row.comments + row.likes
            seen["influence"] = max(seen["influence"], influence)
            seen["lastPostedAt"] = max(seen["lastPostedAt"], row.posted_at)
        return out

    async def listed(
        filter: dict[str, Any] | None, order: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        variables = {"first": 50, "filter": filter, "orderBy": order}
        body = await gql(acme.auth(Role.VIEWER), AUTHORS, variables)
        assert "errors" not in body, body
        return [edge["node"] for edge in body["data"]["authors"]["edges"]]

    window = {"since": T0.isoformat(), "until": until.isoformat()}
    expected = figures(lambda row, _: T0 <= row.posted_at < until)
    for field in (
        "MENTION_COUNT",
        "REACH",
        "ENGAGEMENT",
        "INFLUENCE",
        "NEGATIVE_COUNT",
        "FOLLOWERS",
    ):
        key = {"MENTION_COUNT": "mentionCount", "NEGATIVE_COUNT": "negativeCount"}.get(
            field, field.lower()
        )
        nodes = await listed(window, {"field": field})
        assert [n["databaseId"] for n in nodes] == [
            id_
            for id_, _ in sorted(
                expected.items(), key=lambda item: (item[1][key], uuid.UUID(item[0])), reverse=True
            )
        ], field
        # A short first page comes from each day's leaders; it must be the same page.
        short = await gql(
            acme.auth(Role.VIEWER),
            AUTHORS,
            {"first": 2, "filter": window, "orderBy": {"field": field}},
        )
        assert [e["node"]["databaseId"] for e in short["data"]["authors"]["edges"]] == [
            n["databaseId"] for n in nodes[:2]
        ], field
    nodes = await listed(window, None)
    for node in nodes:
        want = expected[node["databaseId"]]
        assert node["mentionCount"] == want["mentionCount"]
        assert node["negativeCount"] == want["negativeCount"]
        assert node["reach"] == want["reach"]
        assert node["engagement"] == want["engagement"]
        assert node["influence"] == want["influence"]
        assert node["lastPostedAt"] == want["lastPostedAt"].isoformat()
    assert str(people[3].id) not in {n["databaseId"] for n in nodes}, "no mention, not listed"
    assert {n["handle"] for n in await listed({"handleContains": "小王"}, None)} == {"消费者小王"}

    on_watchlist = await listed({"watchlistId": gid("Watchlist", watched.id)}, None)
    hits = figures(lambda _, hit: hit)
    assert {n["databaseId"]: n["mentionCount"] for n in on_watchlist} == {
        id_: f["mentionCount"] for id_, f in hits.items()
    }
    media = await listed({"kind": "MEDIA", "verified": True, "minFollowers": 1_000_000}, None)
    assert [n["handle"] for n in media] == ["财经媒体"]

    walked = await walk(gql, acme, "authors", first=1, order_by={"field": "LAST_POSTED_AT"})
    everyone = figures(lambda *_: True)
    assert walked == [
        id_
        for id_, _ in sorted(
            everyone.items(),
            key=lambda item: (item[1]["lastPostedAt"], uuid.UUID(item[0])),
            reverse=True,
        )
    ]
