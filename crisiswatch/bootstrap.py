"""First-run setup: the `demo` organization with an admin key and an ingest key."""

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.auth.admin import create_key, ensure_organization
from libs.contracts.enums import Role
from libs.database.engine import create_engine, session_factory, transaction
from libs.database.tables import ApiKey, Organization

DEMO_SLUG = "demo"


@dataclass(frozen=True)
class Credentials:
    """The demo organization's keys as kept in `credentials.json`."""

    organization: str
    admin_key: str
    ingest_key: str


async def ensure_demo_credentials(database_url: str, path: Path) -> Credentials:
    """Return the demo keys, creating the organization and keys when they are not there yet."""
    engine = create_engine(database_url, pool_size=1)
    try:
        sessions = session_factory(engine)
        async with transaction(sessions) as session:
            existing = _read(path)
            if existing is not None and await _still_valid(session, existing):
                return existing
            org = await ensure_organization(session, DEMO_SLUG, "Demo organization")
            admin = await create_key(session, org, Role.ADMIN, "demo admin")
            ingest = await create_key(session, org, Role.INGEST, "demo ingest")
        credentials = Credentials(DEMO_SLUG, admin.secret, ingest.secret)
        await asyncio.to_thread(_write, path, credentials)
        return credentials
    finally:
        await engine.dispose()


def _write(path: Path, credentials: Credentials) -> None:
    """Write the keys to a file only its owner can read, from the moment it exists.

    Written to a new file created 0600 and renamed over the old one: a file written first
    and restricted afterwards is readable by others in between.
    """
    fresh = path.with_name(f".{path.name}.new")
    fresh.unlink(missing_ok=True)
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(json.dumps(credentials.__dict__, indent=2))
    os.replace(fresh, path)


def _read(path: Path) -> Credentials | None:
    try:
        return Credentials(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


async def _still_valid(session: AsyncSession, credentials: Credentials) -> bool:
    """Check the stored keys still exist in this database (it may have been reset)."""
    prefixes = [key.split("_")[1] for key in (credentials.admin_key, credentials.ingest_key)]
    result = await session.exec(
        select(ApiKey.prefix)  # type: ignore[call-overload]
        .join(Organization, Organization.id == ApiKey.organization_id)
        .where(Organization.slug == credentials.organization, ApiKey.prefix.in_(prefixes))  # type: ignore[attr-defined]
    )
    return len(result.all()) == 2
