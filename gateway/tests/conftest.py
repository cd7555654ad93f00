"""A running gateway over the test servers, and a helper to send it GraphQL."""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from arq.connections import ArqRedis
from fastapi import FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.relay import GlobalID

from gateway.app import create_app
from gateway.config import GatewaySettings
from libs.settings import Settings
from tests.builders import Tenant, make_tenant
from tests.fixtures.http import serving
from tests.fixtures.servers import Servers

GraphQL = Callable[..., Awaitable[dict[str, Any]]]


@pytest_asyncio.fixture
async def settings(servers: Servers) -> Settings:
    """Settings pointing at the test servers, with a short command timeout."""
    return GatewaySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        command_timeout_seconds=5.0,
    )


@asynccontextmanager
async def serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Run a gateway built for `settings` and yield a client talking to it."""
    async with (
        serving(create_app(settings)) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http


@pytest_asyncio.fixture
async def app(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> AsyncIterator[FastAPI]:
    """A gateway whose lifespan is running, on an emptied database and Redis."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the running gateway over a real loopback socket."""
    async with (
        serving(app, lifespan=False) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as http,
    ):
        yield http


@pytest_asyncio.fixture
async def acme(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    """The organization whose data most tests read."""
    return await make_tenant(sessions, "acme")


@pytest_asyncio.fixture
async def rival(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    """Another organization, which must never see acme's rows."""
    return await make_tenant(sessions, "rival")


@pytest_asyncio.fixture
async def gql(client: httpx.AsyncClient) -> GraphQL:
    """Return a function that posts one operation and returns the decoded response body."""

    async def send(
        headers: dict[str, str], query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    return send


async def queued_for(redis: ArqRedis, queue: str, tenant: Tenant) -> list[str]:
    """Return the names of jobs waiting on `queue` that were sent for `tenant`."""
    jobs = await redis.queued_jobs(queue_name=queue)
    return [
        job.function
        for job in jobs
        if job.args and job.args[0].get("organization_id") == str(tenant.org.id)
    ]


def gid(type_name: str, id_: uuid.UUID | str) -> str:
    """Return the global id clients use for a row."""
    return str(GlobalID(type_name, str(id_)))


@dataclass(frozen=True)
class PageCost:
    """SQL statements run for a small and a large page, and the large page's answer."""

    small: int
    large: int
    body: dict[str, Any]


async def page_cost(
    app: FastAPI, fetch: Callable[[int], Awaitable[dict[str, Any]]], small: int, large: int
) -> PageCost:
    """Count the statements `fetch(first)` runs for a page of `small` and one of `large`.

    A first request warms the principal cache, so only the page's own reads are counted.
    """
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(str(args[2]))

    engine = app.state.resources.engine.sync_engine
    await fetch(1)
    event.listen(engine, "before_cursor_execute", record)
    try:
        await fetch(small)
        small_count = len(statements)
        statements.clear()
        body = await fetch(large)
        large_count = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return PageCost(small=small_count, large=large_count, body=body)
