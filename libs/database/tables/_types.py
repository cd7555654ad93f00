"""Column helpers that keep every table's timestamps timezone-aware and ids uniform."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Index
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel

from libs.ids import new_id

GIN_PENDING_LIST_LIMIT_KB = 32 * 1024
"""Every GIN index's pending list limit: about 16,000 mentions' bigram entries, half a minute
of a 500-a-second import; the workers empty the lists long before (`libs.pending_lists`)."""


def gin_index(name: str, expression: Any) -> Index:
    """A GIN index whose pending list the workers' loop empties rather than the inserts
    (`libs.pending_lists`); `tests/test_pending_lists.py` checks the loop knows every one."""
    return Index(
        name,
        expression,
        postgresql_using="gin",
        postgresql_with={"gin_pending_list_limit": GIN_PENDING_LIST_LIMIT_KB},
    )


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


def id_field() -> Any:
    """Primary key: a UUIDv7 (`libs.ids`), the creation time then random bits, so new rows
    go to the right edge of every index holding the id; with no counter, so an id says
    nothing of how many rows were made around it, in any organization."""
    return Field(default_factory=new_id, primary_key=True)


def org_field() -> Any:
    """Tenant column: every row belongs to exactly one organization."""
    return Field(foreign_key="organization.id", index=True, ondelete="CASCADE")


def child_of(parent: str, *, index: bool = False, unique: bool = False) -> Any:
    """A reference to the `parent` table's row; the row goes when its parent does."""
    return Field(foreign_key=f"{parent}.id", ondelete="CASCADE", index=index, unique=unique)


def at_field(*, nullable: bool = False, index: bool = False, default_now: bool = False) -> Any:
    """A `*_at` column stored as timestamptz."""
    if default_now:
        return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), index=index)
    if nullable:
        return Field(default=None, sa_type=DateTime(timezone=True), nullable=True, index=index)
    return Field(sa_type=DateTime(timezone=True), index=index)


def jsonb_field(*, default: Any = dict) -> Any:
    """A JSONB document column."""
    return Field(default_factory=default, sa_type=JSONB)


def uuid_array_field() -> Any:
    """An array of ids, queried with `= ANY(...)` and a GIN index."""
    return Field(default_factory=list, sa_type=ARRAY(UUID(as_uuid=True)))


class OrganizationRow(SQLModel):
    """Base of a table whose rows each belong to one organization and have a random id."""

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = org_field()
