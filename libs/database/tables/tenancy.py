"""Organizations and their API keys. Written by the admin commands of the `crisiswatch` CLI."""

import uuid
from datetime import datetime

from sqlmodel import Field, SQLModel

from libs.database.tables._types import OrganizationRow, at_field, id_field


class Organization(SQLModel, table=True):
    """A tenant: every other row belongs to one organization."""

    id: uuid.UUID = id_field()
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    created_at: datetime = at_field(default_now=True)


class ApiKey(OrganizationRow, table=True):
    """A bearer key; only its SHA-256 is stored, the prefix finds the row without a scan."""

    __tablename__ = "api_key"

    name: str = Field(max_length=200)
    role: str = Field(max_length=16)
    prefix: str = Field(max_length=32, unique=True)
    key_hash: str = Field(max_length=64)
    created_at: datetime = at_field(default_now=True)
    revoked_at: datetime | None = at_field(nullable=True)
