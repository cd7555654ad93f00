"""Relay connections: `first`/`after` and `last`/`before` list the same rows in the same order
as one full page, page boundaries are right both ways, `nodes` mirrors `edges`, `totalCount`
is exact under its bound and flagged as an estimate above it, and bad arguments are refused
naming the argument.

The bound is set low here (`COUNT_BOUND`), so a handful of rows is "above" it.
"""

import uuid
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from graphql import parse
from sqlalchemy import text
from sqlmodel import col, delete

from gateway.config import GatewaySettings
from gateway.cost.analysis import operation_cost
from gateway.schema import build_schema
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid, page_cost
from gateway.tests.connections import error, ordered, page, walk, walk_back
from libs.contracts.enums import AuthorKind, Role, Sentiment
from libs.database.engine import transaction
from libs.database.tables import Mention, TimelineEvent
from libs.settings import Settings
from tests.builders import Sessions, Tenant
from tests.fixtures.servers import Servers

COUNT_BOUND = 5
ORDERS: list[dict[str, Any] | None] = [
    None,
    {"field": "POSTED_AT", "direction": "ASC"},
    {"field": "ENGAGEMENT", "direction": "DESC"},
    {"field": "VIEWS", "direction": "ASC"},
]


@pytest_asyncio.fixture
async def settings(servers: Servers) -> Settings:
    """The test gateway's settings with a `totalCount` bound a few rows can pass."""
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        command_timeout_seconds=5.0,
        graphql_exact_count_bound=COUNT_BOUND,
    )


async def store_mentions(sessions: Sessions, tenant: Tenant, count: int) -> list[Mention]:
    """Store `count` mentions whose posting times, views and likes tie in groups."""
    async with transaction(sessions) as session:
        return [
            await builders.mention(
                session,
                tenant.org.id,
                posted_at=T0 - timedelta(hours=i % 3),
                views=(i % 4) * 100,
                likes=i % 2,
            )
            for i in range(count)
        ]


async def full_page(gql: GraphQL, tenant: Tenant, order_by: dict[str, Any] | None) -> list[str]:
    body = await page(gql, tenant, "mentions", first=100, order_by=order_by)
    connection = body["data"]["mentions"]
    assert connection["pageInfo"]["hasNextPage"] is False
    assert connection["pageInfo"]["hasPreviousPage"] is False
    return [edge["node"]["databaseId"] for edge in connection["edges"]]


async def test_forward_and_backward_pages_list_what_one_full_page_does(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    stored = await store_mentions(sessions, acme, 11)
    await store_mentions(sessions, rival, 2)
    for order_by in ORDERS:
        everything = await full_page(gql, acme, order_by)
        assert sorted(everything) == sorted(str(row.id) for row in stored)
        for size in (1, 2, 3, 11):
            assert await walk(gql, acme, "mentions", first=size, order_by=order_by) == everything
            assert await walk_back(gql, acme, "mentions", last=size, order_by=order_by) == (
                everything
            ), (order_by, size)
    newest_first = ordered(stored, lambda row: row.posted_at, descending=True)
    assert await full_page(gql, acme, None) == newest_first


async def test_page_boundaries_are_right_both_ways(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    await store_mentions(sessions, acme, 6)
    everything = await full_page(gql, acme, None)
    cursors = (await page(gql, acme, "mentions", first=6))["data"]["mentions"]["edges"]
    cursor = [edge["cursor"] for edge in cursors]

    def shown(body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
        assert "errors" not in body, body
        connection = body["data"]["mentions"]
        return [e["node"]["databaseId"] for e in connection["edges"]], connection["pageInfo"]

    # The first two, the last two, and the middle from either end.
    ids, info = shown(await page(gql, acme, "mentions", first=2))
    assert (ids, info["hasPreviousPage"], info["hasNextPage"]) == (everything[:2], False, True)
    ids, info = shown(await page(gql, acme, "mentions", last=2))
    assert (ids, info["hasPreviousPage"], info["hasNextPage"]) == (everything[4:], True, False)
    ids, info = shown(await page(gql, acme, "mentions", first=2, after=cursor[1]))
    assert (ids, info["hasPreviousPage"], info["hasNextPage"]) == (everything[2:4], True, True)
    ids, info = shown(await page(gql, acme, "mentions", last=2, before=cursor[4]))
    assert (ids, info["hasPreviousPage"], info["hasNextPage"]) == (everything[2:4], True, True)
    # Exactly reaching either end, and a range between two cursors.
    ids, info = shown(await page(gql, acme, "mentions", first=4, after=cursor[1]))
    assert (ids, info["hasPreviousPage"], info["hasNextPage"]) == (everything[2:], True, False)
    ids, info = shown(await page(gql, acme, "mentions", last=4, before=cursor[4]))
    assert (ids, info["hasPreviousPage"], info["hasNextPage"]) == (everything[:4], False, True)
    ids, info = shown(await page(gql, acme, "mentions", first=9, after=cursor[0], before=cursor[4]))
    assert ids == everything[1:4]
    ids, info = shown(await page(gql, acme, "mentions", last=2, after=cursor[0], before=cursor[4]))
    assert (ids, info["hasPreviousPage"]) == (everything[2:4], True)
    ids, info = shown(await page(gql, acme, "mentions", last=0))
    assert (ids, info["startCursor"], info["hasPreviousPage"]) == ([], None, True)


async def test_an_after_cursor_whose_rows_before_are_gone_has_no_previous_page(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    stored = await store_mentions(sessions, acme, 3)
    edges = (await page(gql, acme, "mentions", first=3))["data"]["mentions"]["edges"]
    first_id = uuid.UUID(edges[0]["node"]["databaseId"])
    async with transaction(sessions) as session:
        await session.exec(delete(Mention).where(col(Mention.id) == first_id))
    body = await page(gql, acme, "mentions", first=5, after=edges[0]["cursor"])
    info = body["data"]["mentions"]["pageInfo"]
    assert info["hasPreviousPage"] is False, "the only row before the cursor was deleted"
    assert len(body["data"]["mentions"]["edges"]) == len(stored) - 1
    body = await page(gql, acme, "mentions", last=5, before=edges[2]["cursor"])
    assert body["data"]["mentions"]["pageInfo"]["hasNextPage"] is True


NODES_AND_COUNT = """
query($first: Int, $last: Int, $filter: MentionFilter) {
  mentions(first: $first, last: $last, filter: $filter) {
    totalCount totalCountIsExact
    nodes { databaseId }
    edges { node { databaseId } }
  }
}
"""


async def counted(gql: GraphQL, tenant: Tenant, **variables: Any) -> dict[str, Any]:
    body = await gql(tenant.auth(Role.VIEWER), NODES_AND_COUNT, variables)
    assert "errors" not in body, body
    connection: dict[str, Any] = body["data"]["mentions"]
    return connection


async def test_nodes_are_the_edges_nodes(gql: GraphQL, sessions: Sessions, acme: Tenant) -> None:
    await store_mentions(sessions, acme, 4)
    for variables in ({"first": 3}, {"last": 3}, {"first": 0}):
        connection = await counted(gql, acme, **variables)
        nodes = connection["nodes"]
        assert nodes == [edge["node"] for edge in connection["edges"]]
        assert len(nodes) == next(iter(variables.values()))


async def test_total_count_is_exact_up_to_the_bound_whatever_the_page(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    empty = await counted(gql, acme, first=2)
    assert (empty["totalCount"], empty["totalCountIsExact"]) == (0, True)
    await store_mentions(sessions, acme, COUNT_BOUND)
    await store_mentions(sessions, rival, COUNT_BOUND)
    for variables in ({"first": 2}, {"last": 1}, {"first": 0}):
        connection = await counted(gql, acme, **variables)
        assert (connection["totalCount"], connection["totalCountIsExact"]) == (COUNT_BOUND, True)


async def test_total_count_above_the_bound_is_the_planners_estimate_flagged_so(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        media = await builders.author(session, acme.org.id, "媒体", kind=AuthorKind.MEDIA.value)
        for i in range(40):
            row = await builders.mention(
                session, acme.org.id, posted_at=T0 - timedelta(minutes=i), author_id=media.id
            )
            sentiment = Sentiment.NEGATIVE if i < 3 else Sentiment.NEUTRAL
            await builders.analysis(session, row, sentiment)
    async with transaction(sessions) as session:
        await (await session.connection()).execute(text("ANALYZE mention"))
    connection = await counted(gql, acme, first=1)
    assert connection["totalCountIsExact"] is False
    # Fresh statistics: the planner's figure is near the 40 rows, and never under the bound.
    assert connection["totalCount"] > COUNT_BOUND and 20 <= connection["totalCount"] <= 80
    # A filter that keeps fewer rows than the bound is counted exactly again.
    negative = await counted(gql, acme, first=1, filter={"sentiment": "NEGATIVE"})
    assert (negative["totalCount"], negative["totalCountIsExact"]) == (3, True)


async def test_total_count_is_not_read_unless_asked_for(
    gql: GraphQL, sessions: Sessions, acme: Tenant, app: Any
) -> None:
    await store_mentions(sessions, acme, 3)
    plain = "query($first: Int) { mentions(first: $first) { edges { node { databaseId } } } }"
    with_count = "query($first: Int) { mentions(first: $first) { totalCount totalCountIsExact } }"

    async def fetch(document: str, first: int) -> dict[str, Any]:
        return await gql(acme.auth(Role.VIEWER), document, {"first": first})

    without = await page_cost(app, lambda first: fetch(plain, first), 1, 3)
    counting = await page_cost(app, lambda first: fetch(with_count, first), 1, 3)
    # One statement for the page; the count adds one (under the bound) for both fields.
    assert counting.large == without.large + 1


@pytest.mark.parametrize(
    ("arguments", "field", "says"),
    [
        ("first: 2, last: 2", "last", "not both"),
        ("first: -1", "first", "between 0 and 100"),
        ("last: -3", "last", "got -3"),
        ("first: 101", "first", "between 0 and 100, got 101"),
        ("last: 500", "last", "got 500"),
        ('after: "not-a-cursor"', "after", "`after` is not a cursor of this mention list"),
        ('before: "bm90LWpzb24"', "before", "`before` is not a cursor of this mention list"),
    ],
)
async def test_bad_page_arguments_are_refused_naming_the_argument(
    gql: GraphQL, acme: Tenant, arguments: str, field: str, says: str
) -> None:
    body = await gql(acme.auth(Role.VIEWER), f"{{ mentions({arguments}) {{ totalCount }} }}")
    assert says in error(body)
    assert f"`{field}`" in error(body)
    assert body["errors"][0]["extensions"] == {"code": "InvalidInput", "field": field}


async def test_a_cursor_of_another_list_or_order_is_refused_as_before(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    await store_mentions(sessions, acme, 2)
    cursor = (await page(gql, acme, "mentions", first=1))["data"]["mentions"]["edges"][0]["cursor"]
    other_order = {"field": "VIEWS", "direction": "DESC"}
    body = await page(gql, acme, "mentions", last=1, before=cursor, order_by=other_order)
    assert "`before` is a cursor of this mention list ordered by POSTED_AT DESC" in error(body)
    body = await page(gql, acme, "incidents", last=1, before=cursor)
    assert "`before` is not a cursor of this incident list" in error(body)


# --- nested connections -------------------------------------------------------------------

TIMELINES = """
query($first: Int, $after: String, $last: Int, $before: String) {
  incidents(first: 10, orderBy: {field: DETECTED_AT, direction: ASC}) { nodes {
    databaseId
    timeline { id }
    timelineConnection(first: $first, after: $after, last: $last, before: $before) {
      totalCount totalCountIsExact
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id kind } }
      nodes { id kind }
    }
  } }
}
"""


async def store_timelines(
    sessions: Sessions, tenant: Tenant, sizes: list[int]
) -> list[list[TimelineEvent]]:
    """Store one incident per size, each with that many events, some at the same instant."""
    made = []
    async with transaction(sessions) as session:
        for n, size in enumerate(sizes):
            watched = await builders.watchlist(session, tenant.org.id, f"观察 {n}")
            opened = await builders.incident(session, watched, detected_at=T0 + timedelta(hours=n))
            made.append(
                [
                    await builders.event(
                        session, opened, f"kind-{i}", "事件", T0 + timedelta(minutes=i // 2)
                    )
                    for i in range(size)
                ]
            )
    return made


async def timelines(gql: GraphQL, tenant: Tenant, **variables: Any) -> list[dict[str, Any]]:
    body = await gql(tenant.auth(Role.VIEWER), TIMELINES, variables)
    assert "errors" not in body, body
    nodes: list[dict[str, Any]] = body["data"]["incidents"]["nodes"]
    return nodes


async def test_every_incident_of_a_page_pages_its_own_timeline_both_ways(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    made = await store_timelines(sessions, acme, [7, 0, 3, COUNT_BOUND + 4])
    expected = [
        [gid("TimelineEvent", row.id) for row in sorted(rows, key=lambda r: (r.occurred_at, r.id))]
        for rows in made
    ]
    incidents = await timelines(gql, acme, first=100)
    for incident, events in zip(incidents, expected, strict=True):
        assert [event["id"] for event in incident["timeline"]] == events, "the old list agrees"
        connection = incident["timelineConnection"]
        assert [edge["node"]["id"] for edge in connection["edges"]] == events
        assert connection["nodes"] == [edge["node"] for edge in connection["edges"]]
        exact = len(events) <= COUNT_BOUND
        assert connection["totalCountIsExact"] is exact
        assert connection["totalCount"] == len(events) if exact else len(events) > COUNT_BOUND

    # Two at a time forward, and backward, for every incident at once.
    forward: list[list[str]] = [[] for _ in made]
    after: str | None = None
    while True:
        page_of = await timelines(gql, acme, first=2, after=after)
        for seen, incident in zip(forward, page_of, strict=True):
            seen += [edge["node"]["id"] for edge in incident["timelineConnection"]["edges"]]
        longest = page_of[3]["timelineConnection"]
        assert longest["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not longest["pageInfo"]["hasNextPage"]:
            break
        after = longest["pageInfo"]["endCursor"]
    assert forward[3] == expected[3]
    backward: list[str] = []
    before: str | None = None
    while True:
        longest = (await timelines(gql, acme, last=2, before=before))[3]["timelineConnection"]
        backward = [edge["node"]["id"] for edge in longest["edges"]] + backward
        assert longest["pageInfo"]["hasNextPage"] is (before is not None)
        if not longest["pageInfo"]["hasPreviousPage"]:
            break
        before = longest["pageInfo"]["startCursor"]
    assert backward == expected[3]


async def test_a_page_of_incidents_reads_their_timelines_in_one_query(
    gql: GraphQL, sessions: Sessions, acme: Tenant, app: Any
) -> None:
    await store_timelines(sessions, acme, [3, 2, 4, 1, 2, 3])
    document = """query($first: Int) { incidents(first: $first) { nodes {
      timelineConnection(last: 2) { totalCount edges { node { kind } } }
    } } }"""

    async def fetch(first: int) -> dict[str, Any]:
        return await gql(acme.auth(Role.VIEWER), document, {"first": first})

    cost = await page_cost(app, fetch, 2, 6)
    assert cost.small == cost.large
    assert len(cost.body["data"]["incidents"]["nodes"]) == 6


async def test_a_story_pages_its_mentions_backward(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        first = await builders.mention(session, acme.org.id, posted_at=T0)
        spread = await builders.story(session, first)
        members = [first]
        for i in range(5):
            row = await builders.mention(
                session, acme.org.id, posted_at=T0 + timedelta(minutes=i // 2)
            )
            await builders.analysis(session, row, Sentiment.NEGATIVE, story_id=spread.id)
            members.append(row)
    document = """query($id: ID!, $last: Int, $before: String) { story(id: $id) {
      mentions(last: $last, before: $before) {
        totalCount pageInfo { hasPreviousPage startCursor } nodes { databaseId }
      } } }"""
    # The story's members are the mentions analysis put in it, oldest first.
    expected = ordered(members[1:], lambda row: row.posted_at, descending=False)
    seen: list[str] = []
    before: str | None = None
    while True:
        variables = {"id": gid("Story", spread.id), "last": 2, "before": before}
        body = await gql(acme.auth(Role.VIEWER), document, variables)
        assert "errors" not in body, body
        mentions = body["data"]["story"]["mentions"]
        seen = [node["databaseId"] for node in mentions["nodes"]] + seen
        if not mentions["pageInfo"]["hasPreviousPage"]:
            break
        before = mentions["pageInfo"]["startCursor"]
    assert seen == expected
    assert (mentions["totalCount"], len(mentions["nodes"])) == (5, 1)


async def test_a_story_pages_its_repost_tree_like_the_old_list(
    gql: GraphQL, sessions: Sessions, acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        first = await builders.mention(session, acme.org.id, posted_at=T0)
        spread = await builders.story(session, first)
        await builders.analysis(session, first, Sentiment.NEGATIVE, story_id=spread.id)
        members = [first]
        for i in range(7):
            row = await builders.mention(
                session, acme.org.id, posted_at=T0 + timedelta(minutes=1 + i // 3)
            )
            # Every other member is a near-duplicate, not a repost: no link.
            parent = members[i // 2].id if i % 2 == 0 else None
            await builders.analysis(
                session, row, Sentiment.NEGATIVE, story_id=spread.id, parent_mention_id=parent
            )
            members.append(row)
    story = gid("Story", spread.id)
    old = await gql(
        acme.auth(Role.VIEWER),
        """query($id: ID!) { story(id: $id) {
          repostTree(first: 500) { mention { id } parentMention { id } } } }""",
        {"id": story},
    )
    links = [
        (link["mention"]["id"], link["parentMention"]["id"])
        for link in old["data"]["story"]["repostTree"]
    ]
    assert len(links) == 4
    document = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      story(id: $id) { repostTreeConnection(first: $first, after: $after, last: $last,
                                            before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        nodes { mention { id } parentMention { id } }
      } } }"""

    async def connection(**variables: Any) -> dict[str, Any]:
        body = await gql(acme.auth(Role.VIEWER), document, {"id": story, **variables})
        assert "errors" not in body, body
        found: dict[str, Any] = body["data"]["story"]["repostTreeConnection"]
        return found

    def pairs(found: dict[str, Any]) -> list[tuple[str, str]]:
        return [(node["mention"]["id"], node["parentMention"]["id"]) for node in found["nodes"]]

    whole = await connection(first=100)
    assert (pairs(whole), whole["totalCount"]) == (links, 4)
    head = await connection(first=3)
    tail = await connection(first=3, after=head["pageInfo"]["endCursor"])
    assert pairs(head) + pairs(tail) == links and not tail["pageInfo"]["hasNextPage"]
    end = await connection(last=3)
    start = await connection(last=3, before=end["pageInfo"]["startCursor"])
    assert pairs(start) + pairs(end) == links and not start["pageInfo"]["hasPreviousPage"]


def test_last_and_nodes_are_priced_like_first_and_edges() -> None:
    schema = build_schema()._schema

    def cost(document: str) -> int:
        return operation_cost(schema, parse(document), None, None)

    by_edges = cost("{ mentions(first: 50) { edges { node { text author { handle } } } } }")
    assert by_edges == 1 + 50 * 2
    assert cost("{ mentions(last: 50) { edges { node { text author { handle } } } } }") == by_edges
    assert cost("{ mentions(last: 50) { nodes { text author { handle } } } }") == by_edges
    assert cost("{ mentions { totalCount nodes { text } } }") == 1 + 20 * 1
    nested = (
        "{ incidents(first: 10) { nodes { timelineConnection(last: 30) { nodes { kind } } } } }"
    )
    assert cost(nested) == 1 + 10 * (1 + (1 + 30 * 1))
