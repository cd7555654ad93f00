"""A war-room incident board costs the same number of queries for 2 incidents as for 50."""

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, page_cost
from libs.contracts.enums import Role, Tier
from libs.database.engine import transaction
from tests.builders import Tenant

BOARD = """
query($first: Int) { incidents(first: $first) { edges { node {
  databaseId title tier
  watchlist { name }
  tasks { kind title dueAt status }
  latestSignal { databaseId tier score reasons story { title } topMentions { text } }
} } } }
"""

INCIDENTS = 50
TASKS_EACH = 3


async def _board(session: AsyncSession, tenant: Tenant) -> dict[str, tuple[str, list[str]]]:
    """Store 50 incidents, each with tasks and two signals; return each one's latest signal."""
    expected: dict[str, tuple[str, list[str]]] = {}
    for i in range(INCIDENTS):
        watched = await builders.watchlist(session, tenant.org.id, name=f"看板{i}")
        await builders.signal(session, watched, Tier.YELLOW)
        latest = await builders.signal(session, watched, Tier.ORANGE)
        opened = await builders.incident(
            session,
            watched,
            detected_at=T0 + timedelta(minutes=i),
            title=f"事件{i}",
            last_signal=latest,
        )
        titles = [f"任务{i}-{k}" for k in range(TASKS_EACH)]
        for position, title in enumerate(titles):
            await builders.task(
                session, opened, f"kind{position}", title, position, timedelta(hours=1)
            )
        expected[str(opened.id)] = (str(latest.id), titles)
    return expected


async def test_a_page_of_50_incidents_with_tasks_and_latest_signal_costs_fixed_queries(
    app: FastAPI, gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        expected = await _board(session, acme)
    cost = await page_cost(
        app, lambda first: gql(acme.auth(Role.VIEWER), BOARD, {"first": first}), 2, INCIDENTS
    )
    body = cost.body

    edges = body["data"]["incidents"]["edges"]
    assert len(edges) == INCIDENTS
    for edge in edges:
        node = edge["node"]
        signal_id, titles = expected[node["databaseId"]]
        assert node["latestSignal"]["databaseId"] == signal_id
        assert node["latestSignal"]["tier"] == "ORANGE"
        assert [task["title"] for task in node["tasks"]] == titles
        assert node["watchlist"]["name"].startswith("看板")
    # The page; then watchlists, tasks and signals together; then the signals' stories and
    # top mentions together. The count must not grow with the page.
    assert cost.small == cost.large == 4, cost
