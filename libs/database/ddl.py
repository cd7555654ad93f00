"""The column and table shapes the migrations repeat, each written once.

Almost every table belongs to one organization: a UUID `id`, an `organization_id` that
cascades when the organization goes, and an index on it. Writing that (and the handful of
column types the tables use) once lets a migration read as its schema. Each helper builds
the same schema Alembic's autogenerate writes out longhand for the table classes, and
`tests/test_migrations.py` checks the migrated database against those classes. A new
migration may keep autogenerate's `sa.Column(...)` calls or fold them into these helpers.
A downgrade drops a table alone: its indexes and constraints go with it.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlmodel.sql.sqltypes import AutoString

Column = sa.Column[Any]


def text(name: str, length: int | None = None, *, nullable: bool = False) -> Column:
    """A string column; `length` None is unbounded `VARCHAR`, as sqlmodel maps `str`."""
    return sa.Column(name, AutoString(length=length), nullable=nullable)


def at(name: str, *, nullable: bool = False) -> Column:
    """A timestamp with time zone: every instant the schema stores is aware."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def uuid(
    name: str,
    *,
    nullable: bool = False,
    child_of: str | None = None,
    refers_to: str | None = None,
) -> Column:
    """A UUID column, optionally a reference to another table's `id`.

    `child_of`: the row belongs to its parent and goes when the parent goes (`ON DELETE
    CASCADE`), as the table classes' `child_of` fields say. `refers_to`: a plain reference,
    so deleting a referred-to row is refused.
    """
    references = [sa.ForeignKey(f"{child_of}.id", ondelete="CASCADE")] if child_of else []
    if refers_to:
        references.append(sa.ForeignKey(f"{refers_to}.id"))
    return sa.Column(name, sa.Uuid(), *references, nullable=nullable)


def jsonb(name: str, *, nullable: bool = False) -> Column:
    """A JSONB document column."""
    return sa.Column(name, postgresql.JSONB(astext_type=sa.Text()), nullable=nullable)


def strings(name: str) -> Column:
    """A non-null array of strings (keywords, tokens, reasons)."""
    return sa.Column(name, postgresql.ARRAY(sa.String()), nullable=False)


def index(name: str, table: str, columns: Sequence[str], **options: Any) -> None:
    """Create a non-unique index (`options`: `postgresql_where`, `postgresql_using`)."""
    op.create_index(name, table, list(columns), unique=False, **options)


def create_table(table: str, *items: sa.schema.SchemaItem, indexed: Sequence[str] = ()) -> None:
    """Create `table`, and an index on each column in `indexed` (a field's `index=True`).

    Those indexes are named by `op.f("ix_<table>_<column>")`, as the table classes name
    them. A downgrade drops the table alone: its indexes go with it.
    """
    op.create_table(table, *items)
    for column in indexed:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column], unique=False)


def create_owned_table(
    table: str, *items: sa.schema.SchemaItem, indexed: Sequence[str] = ()
) -> None:
    """Create an organization's table: `id`, `organization_id`, then `items`.

    The organization reference cascades (deleting an organization deletes its data) and is
    indexed, since every query of a tenant's rows filters on it.
    """
    create_table(
        table,
        uuid("id"),
        uuid("organization_id", child_of="organization"),
        *items,
        sa.PrimaryKeyConstraint("id"),
        indexed=["organization_id", *indexed],
    )


def add_columns(table: str, *columns: Column) -> None:
    """Add `columns` to `table` in order, one `ALTER TABLE` each (column order is kept)."""
    for column in columns:
        op.add_column(table, column)


def drop_columns(table: str, *names: str) -> None:
    """Drop the columns `names` from `table`, in that order."""
    for name in names:
        op.drop_column(table, name)
