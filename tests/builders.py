"""Plain builder functions for test data; each takes a session and flushes, never commits."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.auth.admin import create_key, ensure_organization
from libs.contracts.enums import Role
from libs.database.engine import transaction
from libs.database.tables import Organization


@dataclass(frozen=True)
class Tenant:
    """An organization with one key per role, secrets in clear for Authorization headers."""

    org: Organization
    keys: dict[Role, str]

    def auth(self, role: Role) -> dict[str, str]:
        """Return the Authorization header for this tenant's key of `role`."""
        return {"Authorization": f"Bearer {self.keys[role]}"}


async def make_tenant(sessions: async_sessionmaker[AsyncSession], slug: str = "acme") -> Tenant:
    """Create an organization and a key for every role."""
    async with transaction(sessions) as session:
        org = await ensure_organization(session, slug, f"{slug} Inc.")
        keys = {role: (await create_key(session, org, role)).secret for role in Role}
    return Tenant(org=org, keys=keys)
