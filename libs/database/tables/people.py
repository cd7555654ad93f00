"""People of an organization and the append-only audit log of its configuration.

`person` rows are written where keys are (the gateway's admin mutations, like `api_key`):
they are who a key acts for, the data every entry point authenticates with. `audit_entry`
is the one table written by every service: each appends the configuration changes it
applies (`libs.audit`) in the transaction that applies them. Nothing ever updates or
deletes an entry: a trigger refuses both (migration 0012), so an organization's audit
entries also keep the organization itself from being deleted.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from libs.database.tables._types import OrganizationRow, at_field, id_field, jsonb_field


class Person(OrganizationRow, table=True):
    """Someone who acts in the organization's response: paged, @-mentioned, given duties.

    `contacts` are the channels paging reaches them on (`[{"channel": "phone", "value": …}]`);
    `chat_handles` how chat alerts @-mention them (`[{"platform": "feishu", "handle": …}]`).
    A person leaves by being deactivated, never deleted: timelines and the audit log name
    them for good.
    """

    name: str = Field(max_length=200)
    contacts: list[dict[str, Any]] = jsonb_field(default=list)
    chat_handles: list[dict[str, Any]] = jsonb_field(default=list)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)
    deactivated_at: datetime | None = at_field(nullable=True)


class AuditEntry(SQLModel, table=True):
    """One configuration change: what (kind, id, action), before and after, who, when.

    The organization reference does not cascade: an entry outlives nothing it names, and
    the trigger that refuses deletes would refuse the cascade anyway.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_organization_at", "organization_id", "occurred_at"),
        Index(
            "ix_audit_entry_organization_kind_at", "organization_id", "entity_kind", "occurred_at"
        ),
    )

    id: uuid.UUID = id_field()
    organization_id: uuid.UUID = Field(foreign_key="organization.id")
    entity_kind: str = Field(max_length=32)
    entity_id: uuid.UUID | None = None
    action: str = Field(max_length=32)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSONB(none_as_null=True))
    after: dict[str, Any] | None = Field(default=None, sa_type=JSONB(none_as_null=True))
    actor: str = Field(max_length=200)
    key_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = Field(default=None, index=True)
    occurred_at: datetime = at_field()
