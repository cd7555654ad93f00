"""The admin commands of the `crisiswatch` CLI, run as a user would, on the real database."""

import asyncio
import os
import subprocess
import sys

from libs.auth.keys import resolve
from libs.contracts.enums import Role
from libs.database.engine import create_engine, session_factory
from tests.fixtures.servers import Servers


def crisiswatch(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url, "CRISISWATCH_DATA_DIR": "/tmp/cw-cli"}
    return subprocess.run(
        [sys.executable, "-m", "crisiswatch", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def role_of(database_url: str, secret: str) -> Role | None:
    engine = create_engine(database_url, pool_size=1)
    try:
        async with session_factory(engine)() as session:
            principal = await resolve(session, secret)
            return principal.role if principal else None
    finally:
        await engine.dispose()


def test_keys_create_prints_a_working_key_of_the_asked_role(servers: Servers) -> None:
    created = crisiswatch(
        "keys", "create", "--org", "cli-org", "--role", "viewer", database_url=servers.database_url
    )
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("cw_")
    assert asyncio.run(role_of(servers.database_url, secret)) is Role.VIEWER
    assert asyncio.run(role_of(servers.database_url, secret + "x")) is None


def test_keys_create_refuses_an_unknown_role(servers: Servers) -> None:
    refused = crisiswatch(
        "keys", "create", "--org", "cli-org", "--role", "owner", database_url=servers.database_url
    )
    assert refused.returncode == 2
    assert "role" in refused.stderr.lower()


def test_migrate_is_idempotent(servers: Servers) -> None:
    migrated = crisiswatch("migrate", database_url=servers.database_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "latest migration" in migrated.stdout
