"""Wait until the database holds the migrations this image ships, then exit 0.

The init container of every crisiswatch Deployment runs this, so a pod of a new release
starts only once that release's migration Job has brought the schema to the image's head
revision, while the previous release's pods keep serving. It gives up after
WAIT_FOR_MIGRATIONS_SECONDS (exit 1): the kubelet retries it with back-off, and a migration
that never lands shows as a pod stuck in Init instead of a service failing on a missing column.
"""

import asyncio
import os
import sys
import time

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from libs.database.engine import create_engine
from libs.database.migrate import alembic_config

POLL_SECONDS = 3.0


async def current_heads(database_url: str) -> set[str]:
    """Return the revisions the database is at (none before the first migration)."""
    engine = create_engine(database_url, pool_size=1)

    def heads(connection: Connection) -> set[str]:
        return set(MigrationContext.configure(connection).get_current_heads())

    try:
        async with engine.connect() as connection:
            return await connection.run_sync(heads)
    finally:
        await engine.dispose()


def main() -> int:
    """Poll until the database is at the image's head revisions, or the wait runs out."""
    database_url = os.environ["DATABASE_URL"]
    deadline = time.monotonic() + float(os.environ.get("WAIT_FOR_MIGRATIONS_SECONDS", "600"))
    wanted = set(ScriptDirectory.from_config(alembic_config(database_url)).get_heads())
    while True:
        try:
            found = asyncio.run(current_heads(database_url))
        except Exception as error:  # an unreachable database is waited out like a pending migration
            found, reason = set(), f"database not reachable ({type(error).__name__})"
        else:
            reason = f"database at {sorted(found) or 'no revision'}"
        if found == wanted:
            print(f"database is at {sorted(wanted)}", flush=True)
            return 0
        if time.monotonic() >= deadline:
            print(f"gave up waiting for {sorted(wanted)}: {reason}", file=sys.stderr, flush=True)
            return 1
        print(f"waiting for migrations {sorted(wanted)}: {reason}", flush=True)
        time.sleep(POLL_SECONDS)


if __name__ == "__main__":
    sys.exit(main())
