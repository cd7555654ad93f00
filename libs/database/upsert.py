"""The `SET` of an `INSERT … ON CONFLICT DO UPDATE` that takes the incoming row's values.

Every upsert here refreshes some columns of the stored row from the row that collided
with it (PostgreSQL's `EXCLUDED`); naming those columns once keeps the list readable and
the column names checked against the table.
"""

from typing import Any

from sqlalchemy.dialects.postgresql import Insert


def incoming(statement: Insert, *columns: str) -> dict[str, Any]:
    """Return `set_` values that overwrite `columns` with those of the row being inserted."""
    return {name: statement.excluded[name] for name in columns}


def incoming_except(statement: Insert, *kept: str) -> dict[str, Any]:
    """Return `set_` values that overwrite every column but `kept` (usually the key)."""
    return incoming(statement, *(c.name for c in statement.table.columns if c.name not in kept))
