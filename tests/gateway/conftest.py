"""For the package: the real analysis, incidents and notify workers and a served gateway.

Started once for all the modules here (per test process), so every test builds its own
organization and reads only its rows. A test that needs the workers stopped (to queue
commands first) lives outside this package, e.g. `tests/test_concurrent_deletes.py`.
"""

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.builders import Tenant
from tests.fixtures.servers import Servers
from tests.gateway.builders import System, running_system, tenant


@pytest_asyncio.fixture(scope="package")
async def system(servers: Servers, engine: AsyncEngine) -> AsyncIterator[System]:
    """The running system, started once for the package on an emptied database."""
    async with running_system(servers, engine) as running:
        yield running


@pytest_asyncio.fixture
async def acme(system: System) -> Tenant:
    """An organization of the test's own."""
    return await tenant(system, "acme")


@pytest_asyncio.fixture
async def rival(system: System) -> Tenant:
    """Another organization, which must never see acme's rows."""
    return await tenant(system, "rival")
