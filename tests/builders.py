"""Plain builder functions for test data; each takes a session and flushes, never commits."""

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from libs.auth.admin import create_key, ensure_organization
from libs.contracts.enums import IncidentStatus, Role, Tier
from libs.database.engine import transaction
from libs.database.tables import Incident, Organization, ResponseTask, Watchlist

T = TypeVar("T")
# What the `sessions` fixture gives: a maker of sessions on the test database.
Sessions = async_sessionmaker[AsyncSession]


@dataclass(frozen=True)
class Tenant:
    """An organization with one key per role, secrets in clear for Authorization headers."""

    org: Organization
    keys: dict[Role, str]

    def auth(self, role: Role) -> dict[str, str]:
        """Return the Authorization header for this tenant's key of `role`."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


async def make_tenant(sessions: Sessions, slug: str = "acme") -> Tenant:
    """Create an organization and a key for every role."""
    async with transaction(sessions) as session:
        org = await ensure_organization(session, slug, f"{slug} Inc.")
        keys = {role: (await create_key(session, org, role)).secret for role in Role}
    return Tenant(org=org, keys=keys)


async def organization(session: AsyncSession, slug: str | None = None) -> Organization:
    """Add an organization with a unique slug unless one is given."""
    slug = slug or f"org-{uuid.uuid4().hex[:12]}"
    org = Organization(slug=slug, name=f"{slug} Inc.")
    session.add(org)
    await session.flush()
    return org


async def watchlist(session: AsyncSession, org: Organization, name: str = "奶粉") -> Watchlist:
    """Add a watchlist with one keyword, its name."""
    row = Watchlist(organization_id=org.id, name=name, keywords=[name])
    session.add(row)
    await session.flush()
    return row


async def incident(
    session: AsyncSession,
    org: Organization,
    wl: Watchlist,
    *,
    tier: Tier = Tier.YELLOW,
    status: IncidentStatus = IncidentStatus.DETECTED,
    detected_at: datetime | None = None,
) -> Incident:
    """Add an incident on `wl` as a signal would have opened it (without tasks)."""
    row = Incident(
        organization_id=org.id,
        watchlist_id=wl.id,
        title=f"「{wl.name}」舆情",
        tier=tier.value,
        status=status.value,
        detected_at=detected_at or datetime.now(UTC),
    )
    session.add(row)
    await session.flush()
    return row


async def response_task(
    session: AsyncSession, incident: Incident, kind: str, due_at: datetime, **fields: Any
) -> ResponseTask:
    """Add an open response task of `kind` to `incident`, due at `due_at`."""
    row = ResponseTask(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        kind=kind,
        title=fields.pop("title", "核实情况"),
        due_at=due_at,
        **fields,
    )
    session.add(row)
    await session.flush()
    return row


async def read_all(sessions: Sessions, query: SelectOfScalar[T]) -> list[T]:
    """Return every row `query` selects, read in a session of its own."""
    async with sessions() as session:
        return list((await session.exec(query)).all())


async def until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    """Wait for `condition` (a background loop's effect), failing the test after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)
