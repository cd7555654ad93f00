"""A page reads what its nodes show on its own connection, and shows what a lookup by id does.

The mentions and incidents pages read their nodes' authors, analyses and tasks for the
whole page right after the page itself; a node reached any other way loads them through
the DataLoaders. Both ways must give the same answer and keep to the caller's organization.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from graphql import GraphQLObjectType
from sqlalchemy import event

from gateway.core.execution import _known_attribute
from gateway.core.nested import NestedList
from gateway.core.pagination import PageRequest
from gateway.schema import build_schema
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from libs.contracts.enums import IncidentStatus, Role, Sentiment
from libs.database.engine import transaction
from libs.database.tables import Incident, MentionAnalysis, ResponseTask
from tests.builders import Sessions, Tenant

MENTION_PAGE = """
query { mentions(first: 10) { edges { node { databaseId ...Shown } } } }
fragment Shown on Mention {
  text
  author { handle followers }
  ... on Mention { analysis { sentiment matchedKeywords } }
}
"""
MENTION_BY_ID = """
query($id: ID!) { mention(id: $id) {
  databaseId text author { handle followers } analysis { sentiment matchedKeywords }
} }
"""
INCIDENT_PAGE = """
query { incidents(first: 10) { edges { node { databaseId ... on Incident {
  tasks { title kind dueAt }
} } } } }
"""
INCIDENT_BY_ID = """
query($id: ID!) { incident(id: $id) { databaseId tasks { title kind dueAt } } }
"""


@asynccontextmanager
async def counting(app: FastAPI) -> AsyncIterator[dict[str, int]]:
    """Count the pooled connections checked out and the statements run in the block."""
    engine = app.state.resources.engine.sync_engine
    counts = {"connections": 0, "statements": 0}

    def checked_out(*_: Any) -> None:
        counts["connections"] += 1

    def executed(*_: Any) -> None:
        counts["statements"] += 1

    event.listen(engine, "checkout", checked_out)
    event.listen(engine, "before_cursor_execute", executed)
    try:
        yield counts
    finally:
        event.remove(engine, "checkout", checked_out)
        event.remove(engine, "before_cursor_execute", executed)


async def test_a_mentions_page_reads_authors_and_analyses_with_the_page_through_fragments(
    app: FastAPI, gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        poster = await builders.author(session, acme.org.id, "财经媒体", followers=2_300_000)
        outsider = await builders.author(session, rival.org.id, "竞品水军")
        full = await builders.mention(session, acme.org.id, posted_at=T0, author_id=poster.id)
        await builders.analysis(session, full, Sentiment.NEGATIVE, matched_keywords=["奶粉"])
        bare = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(minutes=1))
        # Rows that point across organizations must stay invisible on both paths.
        crossed = await builders.mention(
            session, acme.org.id, posted_at=T0 - timedelta(minutes=2), author_id=outsider.id
        )
        session.add(
            MentionAnalysis(
                mention_id=crossed.id,
                organization_id=rival.org.id,
                sentiment=Sentiment.POSITIVE.value,
                sentiment_score=0.6,
                matched_keywords=["不该看到"],
            )
        )
    viewer = acme.auth(Role.VIEWER)
    await gql(viewer, "{ watchlists { name } }")  # warms the principal cache

    async with counting(app) as counts:
        page = await gql(viewer, MENTION_PAGE)
    nodes = [edge["node"] for edge in page["data"]["mentions"]["edges"]]

    assert [node["databaseId"] for node in nodes] == [str(full.id), str(bare.id), str(crossed.id)]
    assert nodes[0]["author"] == {"handle": "财经媒体", "followers": 2_300_000}
    assert nodes[0]["analysis"] == {"sentiment": "NEGATIVE", "matchedKeywords": ["奶粉"]}
    assert nodes[1]["author"] is None and nodes[1]["analysis"] is None
    assert nodes[2]["author"] is None and nodes[2]["analysis"] is None
    # The page, its authors and its analyses: three statements on one connection.
    assert counts == {"connections": 1, "statements": 3}
    for node in nodes:
        alone = await gql(viewer, MENTION_BY_ID, {"id": gid("Mention", node["databaseId"])})
        assert alone["data"]["mention"] == node


async def incidents_with_tasks(
    sessions: Sessions, acme: Tenant, rival: Tenant
) -> tuple[Incident, Incident]:
    """Two incidents of acme's: the newer with three tasks (stored out of playbook order, to
    be shown in it) and a rival's task pointing at it, which must stay invisible; the older
    resolved, with a task of its own."""
    async with transaction(sessions) as session:
        watched = await builders.watchlist(session, acme.org.id)
        busy = await builders.incident(session, watched, detected_at=T0)
        idle = await builders.incident(
            session, watched, detected_at=T0 - timedelta(hours=1), status=IncidentStatus.RESOLVED
        )
        await builders.task(session, busy, "first_statement", "首次声明", 2, timedelta(hours=4))
        await builders.task(session, busy, "acknowledge", "确认接警", 0, timedelta(minutes=30))
        await builders.task(session, busy, "confirm_scope", "确认范围", 1, timedelta(hours=2))
        await builders.task(session, idle, "review", "复盘总结", 0, timedelta(days=1))
        session.add(
            ResponseTask(
                organization_id=rival.org.id,
                incident_id=busy.id,
                kind="intrusion",
                title="别家的任务",
                position=3,
                due_at=T0,
            )
        )
    return busy, idle


async def test_an_incidents_page_reads_each_incidents_own_tasks_with_the_page(
    app: FastAPI, gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    busy, idle = await incidents_with_tasks(sessions, acme, rival)
    viewer = acme.auth(Role.VIEWER)
    await gql(viewer, "{ watchlists { name } }")  # warms the principal cache

    async with counting(app) as counts:
        page = await gql(viewer, INCIDENT_PAGE)
    nodes = [edge["node"] for edge in page["data"]["incidents"]["edges"]]

    assert [node["databaseId"] for node in nodes] == [str(busy.id), str(idle.id)]
    assert [task["title"] for task in nodes[0]["tasks"]] == ["确认接警", "确认范围", "首次声明"]
    assert [task["title"] for task in nodes[1]["tasks"]] == ["复盘总结"]
    # The page and its tasks: two statements on one connection.
    assert counts == {"connections": 1, "statements": 2}
    for node in nodes:
        alone = await gql(viewer, INCIDENT_BY_ID, {"id": gid("Incident", node["databaseId"])})
        assert alone["data"]["incident"] == node


# The same selection on each incident of a page and on one incident by id.
INCIDENT_TASK_PAGES = """
fragment Pages on Incident {
  databaseId
  tasksConnection(first: $size) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { title kind dueAt } }
    nodes { title }
  }
  newest: tasksConnection(last: 2) {
    totalCount totalCountIsExact
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { title } }
  }
}
"""
INCIDENT_CONNECTION_PAGE = (
    "query($size: Int!) { incidents(first: 10) { nodes { ...Pages } } }" + INCIDENT_TASK_PAGES
)
INCIDENT_CONNECTION_BY_ID = (
    "query($id: ID!, $size: Int!) { incident(id: $id) { ...Pages } }" + INCIDENT_TASK_PAGES
)


async def test_an_incidents_page_reads_the_first_pages_of_each_incidents_task_connection(
    app: FastAPI,
    gql: GraphQL,
    sessions: Sessions,
    acme: Tenant,
    rival: Tenant,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    busy, idle = await incidents_with_tasks(sessions, acme, rival)
    viewer = acme.auth(Role.VIEWER)
    await gql(viewer, "{ watchlists { name } }")  # warms the principal cache
    resolved: list[Any] = []
    resolve = NestedList.connection

    async def recorded(nested: NestedList, info: Any, parent_id: Any, *args: Any) -> Any:
        resolved.append((nested.kind, parent_id))
        return await resolve(nested, info, parent_id, *args)

    monkeypatch.setattr(NestedList, "connection", recorded)

    async with counting(app) as counts:
        page = await gql(viewer, INCIDENT_CONNECTION_PAGE, {"size": 2})
    nodes = page["data"]["incidents"]["nodes"]

    assert [node["databaseId"] for node in nodes] == [str(busy.id), str(idle.id)]
    first = nodes[0]["tasksConnection"]
    assert [edge["node"]["title"] for edge in first["edges"]] == ["确认接警", "确认范围"]
    assert first["nodes"] == [{"title": "确认接警"}, {"title": "确认范围"}]
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]
    newest = nodes[0]["newest"]
    assert [edge["node"]["title"] for edge in newest["edges"]] == ["确认范围", "首次声明"]
    assert newest["pageInfo"]["hasPreviousPage"] is True
    assert nodes[1]["tasksConnection"]["nodes"] == [{"title": "复盘总结"}]
    assert nodes[1]["newest"]["totalCount"] == 1
    # Every incident's first pages were answered from what the page read, not resolved.
    assert resolved == []
    # The page and one statement per page asked, on one connection; the totals, asked for
    # by both, are counted once, on a connection of their own.
    assert counts == {"connections": 2, "statements": 4}
    for node in nodes:
        variables = {"id": gid("Incident", node["databaseId"]), "size": 2}
        alone = await gql(viewer, INCIDENT_CONNECTION_BY_ID, variables)
        assert alone["data"]["incident"] == node

    # The page's cursor reads on from where the page read ahead.
    after = first["pageInfo"]["endCursor"]
    rest = await gql(
        viewer,
        "query($after: String!) { incidents(first: 1) { nodes {"
        " tasksConnection(first: 2, after: $after) { nodes { title } } } } }",
        {"after": after},
    )
    assert rest["data"]["incidents"]["nodes"][0]["tasksConnection"]["nodes"] == [
        {"title": "首次声明"}
    ]


def test_the_executor_answers_an_incidents_first_task_pages_from_what_the_page_read() -> None:
    """The real schema's `tasksConnection` carries the mark the executor answers it by, with
    the key its arguments map to: the same key the page stores its pages under."""
    schema = build_schema()
    incident_type = schema._schema.get_type("Incident")
    assert isinstance(incident_type, GraphQLObjectType)
    field = incident_type.fields["tasksConnection"]
    known = _known_attribute(field)
    assert known is not None and known.attribute == "known_task_pages"
    assert known.key is not None
    assert known.key({"first": 10, "after": None, "last": None, "before": None}) == PageRequest(10)
    assert known.key({"last": 2}) == PageRequest(2, backward=True)
