"""The migrations build exactly the schema the table classes describe.

A column or index added to a table class without a migration (or the reverse) would only
surface as an error in production; here it fails the suite.
"""

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.database.tables import metadata


async def test_migrated_database_matches_the_table_classes(engine: AsyncEngine) -> None:
    def differences(connection: Any) -> list[Any]:
        return list(compare_metadata(MigrationContext.configure(connection), metadata))

    async with engine.connect() as conn:
        diff = await conn.run_sync(differences)
    assert diff == [], diff
