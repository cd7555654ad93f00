"""What the gateway refuses or hides: oversized pages, foreign cursors, documents too deep,
too wide or too long, and unexpected errors outside development."""

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.app import create_app
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL
from libs.contracts.enums import (
    Role,
)
from libs.database.engine import transaction
from libs.settings import Settings
from tests.builders import Tenant
from tests.fixtures.http import serving

MENTIONS = """
query($first: Int, $after: String) {
  mentions(first: $first, after: $after) { edges { node { databaseId source } } }
}
"""
MENTION = "query($id: ID!) { mention(id: $id) { databaseId } }"


async def test_page_size_over_one_hundred_is_an_error(gql: GraphQL, acme: Tenant) -> None:
    body = await gql(acme.auth(Role.VIEWER), MENTIONS, {"first": 101})
    assert body["data"] is None
    assert "between 0 and 100" in body["errors"][0]["message"]


async def test_cursor_of_another_list_is_refused(
    gql: GraphQL, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        await builders.watched_incident(session, acme.org.id, detected_at=T0)
    incidents = await gql(acme.auth(Role.VIEWER), "{ incidents { pageInfo { endCursor } } }")
    cursor = incidents["data"]["incidents"]["pageInfo"]["endCursor"]
    for bad in (cursor, "not-a-cursor"):
        body = await gql(acme.auth(Role.VIEWER), MENTIONS, {"after": bad})
        assert "not a cursor of this mention list" in body["errors"][0]["message"]


async def test_query_deeper_than_the_limit_is_refused(gql: GraphQL, acme: Tenant) -> None:
    # Mention -> analysis -> story -> first mention is a cycle a client could follow forever.
    cycle = "analysis { story { firstMention { " * 3 + "text" + " } } }" * 3
    deep = "{ mentions { edges { node { " + cycle + " } } } }"
    body = await gql(acme.auth(Role.VIEWER), deep)
    messages = [error["message"] for error in body["errors"]]
    assert any("exceeds maximum operation depth of 10" in m for m in messages), messages


async def test_too_many_aliases_are_refused(gql: GraphQL, acme: Tenant) -> None:
    # Aliases let one small document ask for the same expensive page many times.
    fields = " ".join(
        f"a{i}: mentions(first: 50) {{ pageInfo {{ hasNextPage }} }}" for i in range(31)
    )
    body = await gql(acme.auth(Role.VIEWER), "{ " + fields + " }")
    messages = [error["message"] for error in body["errors"]]
    assert any("aliases" in m and "30" in m for m in messages), messages
    fine = " ".join(f"a{i}: watchlists {{ id }}" for i in range(30))
    assert "errors" not in await gql(acme.auth(Role.VIEWER), "{ " + fine + " }")


async def test_documents_with_too_many_tokens_are_refused(gql: GraphQL, acme: Tenant) -> None:
    padding = " ".join(["id"] * 2100)
    body = await gql(acme.auth(Role.VIEWER), "{ watchlists { " + padding + " } }")
    messages = [error["message"] for error in body["errors"]]
    assert any("token" in m.lower() for m in messages), messages


async def test_unexpected_errors_are_masked_outside_development(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], acme: Tenant
) -> None:
    async with transaction(sessions) as session:
        await builders.mention(session, acme.org.id, posted_at=T0)
        broken = await builders.mention(session, acme.org.id, posted_at=T0 - timedelta(hours=1))
        broken.source = "myspace"  # not a Source: building the node fails unexpectedly
    production = create_app(settings.model_copy(update={"crisiswatch_env": "production"}))
    async with serving(production) as url, httpx.AsyncClient(base_url=url) as http:
        failing = await http.post(
            "/graphql", json={"query": MENTIONS}, headers=acme.auth(Role.VIEWER)
        )
        bad_id = await http.post(
            "/graphql",
            json={"query": MENTION, "variables": {"id": "garbage"}},
            headers=acme.auth(Role.VIEWER),
        )
        refused = await http.post(
            "/graphql",
            json={"query": MENTIONS, "variables": {"first": 500}},
            headers=acme.auth(Role.VIEWER),
        )
    assert [e["message"] for e in failing.json()["errors"]] == ["Unexpected error."]
    assert "between 0 and 100" in refused.json()["errors"][0]["message"]
    assert "cannot represent a GlobalID" in bad_id.json()["errors"][0]["message"]
