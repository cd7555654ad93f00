"""Organizations and keys as the admin commands create them."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.auth.keys import NewKey, mint
from libs.contracts.enums import Role
from libs.database.tables import Organization


async def ensure_organization(
    session: AsyncSession, slug: str, name: str | None = None
) -> Organization:
    """Return the organization with `slug`, creating it if it does not exist."""
    result = await session.exec(select(Organization).where(col(Organization.slug) == slug))
    org = result.one_or_none()
    if org is None:
        org = Organization(slug=slug, name=name or slug)
        session.add(org)
        await session.flush()
    return org


async def create_key(
    session: AsyncSession, org: Organization, role: Role, name: str | None = None
) -> NewKey:
    """Mint and store a key for `org`; the secret in the result is the only copy."""
    new = mint(org.id, role, name or f"{role.value} key")
    session.add(new.row)
    await session.flush()
    return new
