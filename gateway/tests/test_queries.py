"""Reads: keyset pagination with filters, lookups by id, tenant scoping, nested loads."""

import uuid
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid, page_cost
from libs.contracts.enums import (
    IncidentStatus,
    Role,
    Sentiment,
    Source,
    TaskStatus,
    Tier,
)
from libs.database.engine import transaction
from libs.database.tables import Mention, MentionAnalysis
from tests.builders import Sessions, Tenant

MENTIONS = """
query Mentions($first: Int, $after: String, $filter: MentionFilter) {
  mentions(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id databaseId postedAt source } }
  }
}
"""

MENTION = """
query Mention($id: ID!) {
  mention(id: $id) {
    id databaseId source externalId text url postedAt ingestedAt repostOf
    author { handle followers verified kind }
    metrics { reposts comments likes views }
    analysis {
      sentiment sentimentScore matchedKeywords tokens analyzedAt
      watchlists { id name keywords }
    }
  }
}
"""

INCIDENTS = """
query Incidents($first: Int, $after: String, $filter: IncidentFilter) {
  incidents(first: $first, after: $after, filter: $filter) {
    pageInfo { hasNextPage endCursor }
    edges { node { databaseId title tier status } }
  }
}
"""

INCIDENT = """
query Incident($id: ID!) {
  incident(id: $id) {
    id databaseId title tier status detectedAt acknowledgedAt acknowledgedBy
    watchlist { databaseId name }
    tasks { id title kind dueAt status completedAt }
    timeline { id kind message actor occurredAt data }
    latestSignal { id tier score reasons components createdAt }
  }
}
"""


async def all_pages(
    gql: GraphQL, tenant: Tenant, first: int, filter: dict[str, Any] | None = None
) -> list[list[str]]:
    """Follow a mention list to its end; return the database ids page by page."""
    pages: list[list[str]] = []
    after: str | None = None
    while True:
        body = await gql(
            tenant.auth(Role.VIEWER), MENTIONS, {"first": first, "after": after, "filter": filter}
        )
        assert "errors" not in body, body
        connection = body["data"]["mentions"]
        pages.append([edge["node"]["databaseId"] for edge in connection["edges"]])
        assert connection["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not connection["pageInfo"]["hasNextPage"]:
            return pages
        after = connection["pageInfo"]["endCursor"]
        assert after == connection["edges"][-1]["cursor"]


async def seed_mentions(
    sessions: Sessions, acme: Tenant, rival: Tenant
) -> tuple[list[Mention], dict[uuid.UUID, tuple[Sentiment, bool]], uuid.UUID]:
    """Store 25 acme mentions an hour apart (three at one instant) and one of rival's."""
    labels: dict[uuid.UUID, tuple[Sentiment, bool]] = {}
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        stored: list[Mention] = []
        for i in range(25):
            # Mentions 10, 11 and 12 share one timestamp: the id must break the tie.
            posted_at = T0 - timedelta(hours=10 if 10 <= i <= 12 else i)
            source = Source.WEIBO if i % 2 == 0 else Source.DOUYIN
            row = await builders.mention(session, acme.org.id, posted_at=posted_at, source=source)
            sentiment = Sentiment.NEGATIVE if i % 3 else Sentiment.POSITIVE
            matched = i % 4 == 0
            await builders.analysis(session, row, sentiment, [watched] if matched else [])
            labels[row.id] = (sentiment, matched)
            stored.append(row)
        await builders.mention(session, rival.org.id, posted_at=T0 + timedelta(hours=1))
    return stored, labels, watched.id


def newest_first(mentions: list[Mention]) -> list[str]:
    return [str(m.id) for m in sorted(mentions, key=lambda m: (m.posted_at, m.id), reverse=True)]


async def test_mentions_page_newest_first_across_pages_without_gaps_or_repeats(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    stored, _, _ = await seed_mentions(sessions, acme, rival)

    pages = await all_pages(gql, acme, first=10)

    assert [len(page) for page in pages] == [10, 10, 5]
    assert [id_ for page in pages for id_ in page] == newest_first(stored)


async def test_mentions_default_to_twenty_per_page(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    await seed_mentions(sessions, acme, rival)
    body = await gql(acme.auth(Role.VIEWER), "{ mentions { edges { cursor } } }")
    assert len(body["data"]["mentions"]["edges"]) == 20


async def test_mention_filters_combine_and_paginate(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    stored, labels, watchlist_id = await seed_mentions(sessions, acme, rival)

    negative_weibo = await all_pages(
        gql, acme, first=3, filter={"sentiment": "NEGATIVE", "source": "WEIBO"}
    )
    expected = [
        m for m in stored if labels[m.id][0] is Sentiment.NEGATIVE and m.source == Source.WEIBO
    ]
    assert [id_ for page in negative_weibo for id_ in page] == newest_first(expected)

    watched = await all_pages(
        gql, acme, first=2, filter={"watchlistId": gid("Watchlist", watchlist_id)}
    )
    expected = [m for m in stored if labels[m.id][1]]
    assert [id_ for page in watched for id_ in page] == newest_first(expected)

    since, until = T0 - timedelta(hours=15), T0 - timedelta(hours=5)
    window = await all_pages(
        gql, acme, first=4, filter={"since": since.isoformat(), "until": until.isoformat()}
    )
    expected = [m for m in stored if since <= m.posted_at < until]
    assert len(expected) == 10
    assert [id_ for page in window for id_ in page] == newest_first(expected)


async def test_watchlist_filter_takes_a_watchlist_id_only(gql: GraphQL, acme: Tenant) -> None:
    body = await gql(
        acme.auth(Role.VIEWER), MENTIONS, {"filter": {"watchlistId": gid("Mention", uuid.uuid4())}}
    )
    assert "must be a Watchlist id" in body["errors"][0]["message"]


async def test_mention_by_id_has_author_metrics_and_analysis(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id, "奶粉质量", ["奶粉"])
        poster = await builders.media_outlet(session, acme.org.id)
        analysed = await builders.mention(
            session,
            acme.org.id,
            posted_at=T0,
            author_id=poster.id,
            url="https://weibo.com/1",
            reposts=340,
            comments=120,
            likes=900,
            views=88_000,
            repost_of="orig-1",
        )
        await builders.analysis(session, analysed, Sentiment.NEGATIVE, [watched])
        pending = await builders.mention(session, acme.org.id, posted_at=T0)

    body = await gql(acme.auth(Role.VIEWER), MENTION, {"id": gid("Mention", analysed.id)})
    found = body["data"]["mention"]
    assert found["databaseId"] == str(analysed.id)
    assert found["source"] == "WEIBO"
    assert found["repostOf"] == "orig-1"
    assert found["author"] == {
        "handle": "财经媒体",
        "followers": 2_300_000,
        "verified": True,
        "kind": "MEDIA",
    }
    assert found["metrics"] == {"reposts": 340, "comments": 120, "likes": 900, "views": 88_000}
    assert found["analysis"]["sentiment"] == "NEGATIVE"
    assert found["analysis"]["tokens"] == ["奶粉", "拉肚子", "客服"]
    assert found["analysis"]["watchlists"] == [
        {"id": gid("Watchlist", watched.id), "name": "奶粉质量", "keywords": ["奶粉"]}
    ]

    body = await gql(acme.auth(Role.VIEWER), MENTION, {"id": gid("Mention", pending.id)})
    assert body["data"]["mention"]["analysis"] is None
    assert body["data"]["mention"]["author"] is None


async def test_other_organizations_rows_are_invisible_by_id_and_in_lists(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        secret = await builders.mention(session, acme.org.id, posted_at=T0)
        opened = await builders.incident(session, watched, detected_at=T0)
    outsider = rival.auth(Role.ADMIN)

    by_id = await gql(outsider, MENTION, {"id": gid("Mention", secret.id)})
    assert by_id["data"] == {"mention": None}
    by_id = await gql(outsider, INCIDENT, {"id": gid("Incident", opened.id)})
    assert by_id["data"] == {"incident": None}
    for type_name, id_ in (
        ("Mention", secret.id),
        ("Incident", opened.id),
        ("Watchlist", watched.id),
    ):
        node = await gql(
            outsider, "query($id: ID!) { node(id: $id) { id } }", {"id": gid(type_name, id_)}
        )
        assert node["data"] == {"node": None}
    lists = await gql(
        outsider,
        "{ mentions { edges { cursor } } incidents { edges { cursor } } watchlists { name } }",
    )
    assert lists["data"] == {
        "mentions": {"edges": []},
        "incidents": {"edges": []},
        "watchlists": [],
    }
    own = await gql(acme.auth(Role.VIEWER), MENTION, {"id": gid("Mention", secret.id)})
    assert own["data"]["mention"]["databaseId"] == str(secret.id)


async def test_node_resolves_any_type_of_the_callers_organization(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id, "物流延误")
    body = await gql(
        acme.auth(Role.VIEWER),
        "query($id: ID!) { node(id: $id) { __typename ... on Watchlist { name } } }",
        {"id": gid("Watchlist", watched.id)},
    )
    assert body["data"]["node"] == {"__typename": "Watchlist", "name": "物流延误"}


async def test_incident_shows_tasks_in_order_timeline_oldest_first_and_latest_signal(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id, "奶粉质量")
        raised = await builders.signal(session, watched, Tier.ORANGE)
        opened = await builders.incident(session, watched, detected_at=T0, last_signal=raised)
        await builders.task(session, opened, "statement", "发布首次公开声明", 2, timedelta(hours=4))
        await builders.task(
            session, opened, "acknowledge", "确认并指派监测人", 0, timedelta(minutes=30)
        )
        await builders.task(
            session, opened, "scope", "确认影响范围", 1, timedelta(hours=2), TaskStatus.OVERDUE
        )
        await builders.event(
            session, opened, "tier_raised", "风险升至橙色", T0 + timedelta(minutes=5), tier="orange"
        )
        await builders.event(session, opened, "opened", "事件已创建", T0, signal=str(raised.id))

    body = await gql(acme.auth(Role.VIEWER), INCIDENT, {"id": gid("Incident", opened.id)})
    found = body["data"]["incident"]
    assert found["status"] == "DETECTED" and found["tier"] == "ORANGE"
    assert found["watchlist"] == {"databaseId": str(watched.id), "name": "奶粉质量"}
    assert [t["kind"] for t in found["tasks"]] == ["acknowledge", "scope", "statement"]
    assert [t["status"] for t in found["tasks"]] == ["OPEN", "OVERDUE", "OPEN"]
    assert found["tasks"][0]["dueAt"] == (T0 + timedelta(minutes=30)).isoformat()
    assert [e["kind"] for e in found["timeline"]] == ["opened", "tier_raised"]
    assert found["timeline"][1]["data"] == {"tier": "orange"}
    assert found["latestSignal"]["reasons"] == ["负面声量为基线的 6.2 倍", "媒体大号参与转发"]
    assert found["latestSignal"]["components"] == {"spike_ratio": 6.2, "negative_share": 0.83}


async def test_incidents_list_newest_detected_first_with_filters(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        made = []
        for i, (status, tier) in enumerate(
            [
                (IncidentStatus.RESOLVED, Tier.YELLOW),
                (IncidentStatus.RESOLVED, Tier.RED),
                (IncidentStatus.CLOSED, Tier.RED),
                (IncidentStatus.DETECTED, Tier.RED),
            ]
        ):
            watched = await builders.watchlist(session, acme.org.id, f"清单{i}")
            made.append(
                await builders.incident(
                    session, watched, detected_at=T0 + timedelta(hours=i), status=status, tier=tier
                )
            )

    everything = await gql(acme.auth(Role.VIEWER), INCIDENTS, {"first": 3})
    connection = everything["data"]["incidents"]
    assert [e["node"]["databaseId"] for e in connection["edges"]] == [
        str(made[3].id),
        str(made[2].id),
        str(made[1].id),
    ]
    rest = await gql(
        acme.auth(Role.VIEWER), INCIDENTS, {"after": connection["pageInfo"]["endCursor"]}
    )
    assert [e["node"]["databaseId"] for e in rest["data"]["incidents"]["edges"]] == [
        str(made[0].id)
    ]

    red = await gql(acme.auth(Role.VIEWER), INCIDENTS, {"filter": {"tier": "RED"}})
    assert len(red["data"]["incidents"]["edges"]) == 3
    resolved_red = await gql(
        acme.auth(Role.VIEWER), INCIDENTS, {"filter": {"tier": "RED", "status": "RESOLVED"}}
    )
    assert [e["node"]["databaseId"] for e in resolved_red["data"]["incidents"]["edges"]] == [
        str(made[1].id)
    ]


async def test_a_page_costs_the_same_number_of_queries_whatever_its_size(
    app: FastAPI, gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        poster = await builders.author(session, acme.org.id)
    stored, _, _ = await seed_mentions(sessions, acme, rival)
    async with transaction(sessions) as session:
        # Older than every seeded mention, so neither is on the page being counted.
        start = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(days=3))
        origin = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(days=2))
        spread = await builders.story(session, start)
        for row in stored:
            merged = await session.get(Mention, row.id)
            analysed = await session.get(MentionAnalysis, row.id)
            assert merged is not None and analysed is not None
            merged.author_id = poster.id
            analysed.story_id = spread.id
            analysed.parent_mention_id = origin.id
    query = """
    query($first: Int) { mentions(first: $first) { edges { node {
      text author { handle } analysis {
        sentiment watchlists { name }
        parentMention { text } story { title firstMention { text } }
      }
    } } } }
    """
    cost = await page_cost(
        app, lambda first: gql(acme.auth(Role.VIEWER), query, {"first": first}), 2, 25
    )
    body = cost.body
    edges = body["data"]["mentions"]["edges"]
    assert len(edges) == 25
    assert {e["node"]["analysis"]["story"]["firstMention"]["text"] for e in edges} == {start.text}
    assert {e["node"]["analysis"]["parentMention"]["text"] for e in edges} == {origin.text}
    # page, authors, analyses, then watchlists, stories and parent mentions together, then
    # the stories' first mentions.
    assert cost.small == cost.large == 7
