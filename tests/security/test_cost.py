"""One organization cannot hold the shared gateway and database by asking for too much at once
(issue 13 finding 5): documents are priced before they run, each organization has a budget
per minute, every list is bounded, a story page reads its members in one query, and a
statement that runs too long is cut and answered with a clear error."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from arq.connections import ArqRedis
from redis.asyncio import Redis
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.cost import budget
from gateway.dashboard import loaders as figures
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import gid
from gateway.tests.subscription_support import LiveClient, bearer, live_client, serve_gateway
from libs.contracts.enums import Role, Sentiment
from libs.database.engine import transaction
from libs.database.tables import Mention
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers

Sessions = async_sessionmaker[AsyncSession]

YEAR_DASHBOARD = """
d{i}: dashboard(since: "2024-01-01T00:00:00Z", until: "2025-02-04T00:00:00Z") {{
  volume(bucket: DAY) {{ total negative }}
  shareOfVoice {{ watchlist {{ name }} mentions }}
  topTerms {{ term mentions }}
  incidents {{ detected }}
}}
"""
PAGE = "{ mentions(first: 100) { edges { node { text } } } }"  # costs 1 + 100 × 1


def _settings(servers: Servers, **overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        crisiswatch_env="production",
        **overrides,
    )


@asynccontextmanager
async def _gateway(settings: GatewaySettings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """Run a real gateway for `settings`; yield a client and the app (to reach its engine)."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        serving(app, lifespan=False) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http, app


async def _ask(
    http: httpx.AsyncClient, tenant: Tenant, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=tenant.auth(Role.VIEWER),
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_thirty_aliases_of_a_400_day_dashboard_are_refused_before_they_run(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")
    attack = "{" + "".join(YEAR_DASHBOARD.format(i=i) for i in range(30)) + "}"
    ran: list[object] = []

    async def counted(*args: Any) -> Any:
        ran.append(args)
        return await real(*args)

    real = figures.incident_figures
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "incident_figures", counted)
        async with _gateway(_settings(servers)) as (http, _):
            body = await _ask(http, acme, attack)
            one = await _ask(http, acme, "{" + YEAR_DASHBOARD.format(i=0) + "}")

    assert body["data"] is None
    error = body["errors"][0]
    assert error["extensions"]["code"] == "TooExpensive", error
    assert f"{error['extensions']['cost']:,}" in error["message"]
    assert error["extensions"]["cost"] > error["extensions"]["limit"] == 50_000
    assert body["extensions"]["cost"]["requested"] == error["extensions"]["cost"]
    # Refused before execution: no panel ran for the thirty aliases, one ran for the single one.
    assert len(ran) == 1
    assert "errors" not in one, one
    assert one["extensions"]["cost"]["requested"] <= one["extensions"]["cost"]["limit"]
    assert 0 < one["extensions"]["cost"]["budgetRemaining"] < 250_000


async def test_an_organization_over_its_budget_is_refused_while_another_still_works(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")
    rival = await make_tenant(sessions, "rival")
    async with _gateway(_settings(servers, graphql_cost_per_minute=250)) as (http, _):
        first = await _ask(http, acme, PAGE)
        second = await _ask(http, acme, PAGE)
        refused = await _ask(http, acme, PAGE)
        other = await _ask(http, rival, PAGE)

    assert first["extensions"]["cost"] == {
        "requested": 101,
        "limit": 50_000,
        "budgetRemaining": 149,
    }
    assert second["extensions"]["cost"]["budgetRemaining"] == 48
    assert refused["data"] is None
    error = refused["errors"][0]
    assert error["extensions"]["code"] == "CostBudgetExhausted", error
    assert 1 <= error["extensions"]["retryAfter"] <= 120
    assert f"Try again in {error['extensions']['retryAfter']} s" in error["message"]
    assert "errors" not in other, other
    assert other["extensions"]["cost"]["budgetRemaining"] == 149


async def test_the_budget_is_kept_in_the_process_while_redis_is_down() -> None:
    # Nothing listens on the discard port: every Redis call fails at once.
    down = Redis(host="127.0.0.1", port=9, socket_connect_timeout=1)
    org = uuid.uuid4()
    try:
        allowed = await budget.spend(down, org, 150, per_minute=200)
        refused = await budget.spend(down, org, 150, per_minute=200)
    finally:
        await down.aclose()
    assert allowed.allowed and allowed.remaining == 50
    assert not refused.allowed and refused.retry_after >= 1


async def test_a_statement_that_runs_too_long_is_cut_and_answered_clearly(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")

    async def stuck(session: AsyncSession, *_: Any) -> Any:
        connection = await session.connection()
        await connection.execute(text("SELECT pg_sleep(5)"))

    query = "{ dashboard { incidents { detected } } }"
    settings = _settings(servers, statement_timeout_gateway_seconds=0.5)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figures, "incident_figures", stuck)
        async with _gateway(settings) as (http, _):
            started = asyncio.get_running_loop().time()
            body = await _ask(http, acme, query)
            took = asyncio.get_running_loop().time() - started
        patch.undo()
        async with _gateway(settings) as (http, _):
            after = await _ask(http, acme, query)

    assert took < 3, took
    error = body["errors"][0]
    assert error["extensions"] == {"code": "StatementTimeout"}, error
    assert "took too long" in error["message"]
    assert "pg_sleep" not in str(body)
    assert "errors" not in after, after


async def test_repost_tree_and_amplifiers_are_bounded_and_paged(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")
    async with transaction(sessions) as session:
        root = await builders.mention(session, acme.org.id, posted_at=T0)
        story = await builders.story(session, root, mention_count=251)
        await builders.analysis(session, root, Sentiment.NEGATIVE, story_id=story.id)
        for i in range(250):
            poster = await builders.author(session, acme.org.id, f"转发者{i}", followers=10 + i)
            repost = await builders.mention(
                session, acme.org.id, posted_at=T0 + timedelta(seconds=i + 1), author_id=poster.id
            )
            await builders.analysis(
                session,
                repost,
                Sentiment.NEGATIVE,
                story_id=story.id,
                parent_mention_id=root.id,
                influence=i / 1000,
                amplifier=True,
            )
    story_id = gid("Story", story.id)
    query = """
    query($id: ID!, $first: Int, $after: ID) { story(id: $id) {
      amplifiers { influence }
      repostTree { mention { databaseId } }
      page: repostTree(first: $first, after: $after) { mention { id databaseId } }
    } }
    """
    async with _gateway(_settings(servers)) as (http, _):
        whole = await _ask(http, acme, query, {"id": story_id, "first": 100})
        last = whole["data"]["story"]["page"][-1]["mention"]["id"]
        next_page = await _ask(http, acme, query, {"id": story_id, "first": 100, "after": last})
        too_many = await _ask(http, acme, query, {"id": story_id, "first": 501})

    found = whole["data"]["story"]
    assert len(found["amplifiers"]) == 100
    assert found["amplifiers"][0]["influence"] == pytest.approx(0.249)
    assert len(found["repostTree"]) == 100
    following = next_page["data"]["story"]["page"]
    assert len(following) == 100
    seen = [e["mention"]["databaseId"] for e in found["page"] + following]
    assert len(set(seen)) == 200
    assert "between 1 and 500" in too_many["errors"][0]["message"]


async def test_a_page_of_stories_reads_their_mentions_in_one_query(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")
    async with transaction(sessions) as session:
        for s in range(8):
            members: list[Mention] = []
            for m in range(3):
                members.append(
                    await builders.mention(
                        session, acme.org.id, posted_at=T0 + timedelta(minutes=10 * s + m)
                    )
                )
            story = await builders.story(session, members[0], f"故事{s}")
            for member in members:
                await builders.analysis(session, member, Sentiment.NEGATIVE, story_id=story.id)
    query = """
    query($first: Int) { stories(first: $first) { edges { node {
      title mentions(first: 2) { pageInfo { hasNextPage } edges { node { databaseId } } }
    } } } }
    """
    counts: dict[int, int] = {}
    async with _gateway(_settings(servers)) as (http, app):
        engine = app.state.resources.engine.sync_engine
        await _ask(http, acme, query, {"first": 1})  # warms the key cache
        for first in (1, 8):
            statements: list[str] = []

            def record(*args: Any, into: list[str] = statements) -> None:
                into.append(str(args[2]))

            event.listen(engine, "before_cursor_execute", record)
            try:
                body = await _ask(http, acme, query, {"first": first})
            finally:
                event.remove(engine, "before_cursor_execute", record)
            counts[first] = len(statements)
    stories = body["data"]["stories"]["edges"]
    assert len(stories) == 8
    assert all(len(s["node"]["mentions"]["edges"]) == 2 for s in stories)
    assert all(s["node"]["mentions"]["pageInfo"]["hasNextPage"] for s in stories)
    assert counts[1] == counts[8], counts


async def _answer(live: LiveClient, operation: str) -> dict[str, Any]:
    """The first `next` or `error` message of `operation`."""
    while True:
        message = await live.receive()
        if message.get("id") == operation and message["type"] in ("next", "error"):
            return message


async def test_a_websocket_pays_the_same_prices_as_http(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    acme = await make_tenant(sessions, "acme")
    attack = "{" + "".join(YEAR_DASHBOARD.format(i=i) for i in range(30)) + "}"
    settings = _settings(servers, graphql_cost_per_minute=150)
    async with (
        serve_gateway(settings) as gateway,
        live_client(gateway.url, bearer(acme.keys[Role.VIEWER])) as live,
    ):
        dear = await _answer(live, await live.subscribe(attack))
        paid = await _answer(live, await live.subscribe(PAGE))
        over = await _answer(live, await live.subscribe(PAGE))

    assert _errors(dear)[0]["extensions"]["code"] == "TooExpensive", dear
    assert paid["payload"]["extensions"]["cost"]["budgetRemaining"] == 49, paid
    assert _errors(over)[0]["extensions"]["code"] == "CostBudgetExhausted", over


def _errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The errors of a `next` (in its result) or an `error` message (its whole payload)."""
    payload = message["payload"]
    errors: list[dict[str, Any]] = payload if message["type"] == "error" else payload["errors"]
    return errors
