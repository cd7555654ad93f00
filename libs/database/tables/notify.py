"""Webhook and chat-alert endpoints and their delivery log. Written only by the notify service."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Index, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from libs.database.tables._types import (
    OrganizationRow,
    at_field,
    child_of,
    jsonb_field,
)


class WebhookEndpoint(OrganizationRow, table=True):
    """Where an organization wants events: a signed webhook or a chat group bot.

    `kind` is `standard` (Standard Webhooks), `wecom`, `dingtalk` or `feishu`. Secrets are
    stored encrypted with the data key; during a rotation the previous secret keeps signing
    too until `previous_secret_expires_at`.
    """

    __tablename__ = "webhook_endpoint"

    name: str = Field(max_length=200)
    kind: str = Field(default="standard", max_length=16)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(default_factory=list, sa_type=ARRAY(String))
    secret_cipher: bytes = Field(sa_type=LargeBinary)
    previous_secret_cipher: bytes | None = Field(default=None, sa_type=LargeBinary)
    previous_secret_expires_at: datetime | None = at_field(nullable=True)
    status: str = Field(default="active", max_length=16)
    disabled_reason: str | None = Field(default=None, max_length=2000)
    failing_since: datetime | None = at_field(nullable=True)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class WebhookDelivery(OrganizationRow, table=True):
    """One event for one endpoint: its attempts, last answer and when it is tried next."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index(
            "ix_webhook_delivery_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_webhook_delivery_org_created", "organization_id", "created_at", "id"),
    )

    endpoint_id: uuid.UUID = child_of("webhook_endpoint")
    event_id: uuid.UUID
    event_type: str = Field(max_length=32)
    payload: dict[str, Any] = jsonb_field()
    status: str = Field(default="pending", max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = at_field(nullable=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=2000)
    delivered_at: datetime | None = at_field(nullable=True)
    created_at: datetime = at_field(default_now=True)
    updated_at: datetime = at_field(default_now=True)


class WebhookPolicy(SQLModel, table=True):
    """An organization's webhook settings: private and loopback destinations are refused
    unless `allow_private_destinations` is set (e.g. for an on-premises integration)."""

    __tablename__ = "webhook_policy"

    organization_id: uuid.UUID = Field(
        primary_key=True, foreign_key="organization.id", ondelete="CASCADE"
    )
    allow_private_destinations: bool = False
    updated_at: datetime = at_field(default_now=True)
