"""Fixtures: a served app and a tenant for HTTP tests, an organization for service tests."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.privacy import generate_key
from services.ingest.tests.builders import make_organization, serve_ingest, settings_for
from tests.builders import Tenant, make_tenant
from tests.fixtures.servers import Servers


@pytest.fixture(scope="session")
def data_key_text() -> str:
    """Return a data key (base64) that encrypts contacts."""
    return generate_key()


@pytest_asyncio.fixture
async def tenant(sessions: async_sessionmaker[AsyncSession]) -> Tenant:
    """Return an organization with a key per role, on a database emptied for the test."""
    return await make_tenant(sessions)


@pytest_asyncio.fixture
async def client(
    servers: Servers,
    sessions: async_sessionmaker[AsyncSession],
    redis: ArqRedis,
    data_key_text: str,
) -> AsyncIterator[httpx.AsyncClient]:
    """Serve ingest with a data key on an emptied database and Redis; yield a client to it."""
    async with serve_ingest(settings_for(servers, data_key=data_key_text)) as http:
        yield http


@pytest_asyncio.fixture
async def organization(session: AsyncSession) -> uuid.UUID:
    """Return the id of a fresh organization in the test's rolled-back session."""
    return await make_organization(session)
