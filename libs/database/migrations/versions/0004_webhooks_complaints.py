"""notify and intake: webhook endpoints, deliveries, policy; complaints; idempotency records

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 08:33:02.626885
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, strings, text, uuid

revision: str = "0004"
down_revision: str | None = "0003"


def upgrade() -> None:
    ddl.create_table(
        "idempotency_record",
        uuid("organization_id", child_of="organization"),
        text("key", 255),
        text("route", 100),
        text("request_hash", 64),
        text("status", 16),
        sa.Column("response_status", sa.Integer(), nullable=True),
        jsonb("response_body", nullable=True),
        at("created_at"),
        at("expires_at"),
        sa.PrimaryKeyConstraint("organization_id", "key"),
    )
    ddl.create_owned_table(
        "webhook_endpoint",
        text("name", 200),
        text("kind", 16),
        text("url", 2000),
        strings("event_types"),
        sa.Column("secret_cipher", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_cipher", sa.LargeBinary(), nullable=True),
        at("previous_secret_expires_at", nullable=True),
        text("status", 16),
        text("disabled_reason", 2000, nullable=True),
        at("failing_since", nullable=True),
        at("created_at"),
        at("updated_at"),
    )
    ddl.create_table(
        "webhook_policy",
        uuid("organization_id", child_of="organization"),
        sa.Column("allow_private_destinations", sa.Boolean(), nullable=False),
        at("updated_at"),
        sa.PrimaryKeyConstraint("organization_id"),
    )
    ddl.create_owned_table(
        "webhook_delivery",
        uuid("endpoint_id", child_of="webhook_endpoint"),
        uuid("event_id"),
        text("event_type", 32),
        jsonb("payload"),
        text("status", 16),
        sa.Column("attempts", sa.Integer(), nullable=False),
        at("next_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        text("last_error", 2000, nullable=True),
        at("delivered_at", nullable=True),
        at("created_at"),
        at("updated_at"),
        sa.UniqueConstraint("endpoint_id", "event_id"),
    )
    ddl.index(
        "ix_webhook_delivery_due",
        "webhook_delivery",
        ["next_attempt_at"],
        postgresql_where=sa.text("status = 'pending'"),
    )
    ddl.index(
        "ix_webhook_delivery_org_created",
        "webhook_delivery",
        ["organization_id", "created_at", "id"],
    )
    ddl.create_owned_table(
        "complaint",
        uuid("mention_id", child_of="mention"),
        text("customer_ref", 200),
        text("order_id", 200, nullable=True),
        text("channel", 32),
        jsonb("contacts_masked"),
        sa.Column("contacts_cipher", sa.LargeBinary(), nullable=True),
        at("created_at"),
        sa.UniqueConstraint("mention_id"),
    )
    ddl.index("ix_idempotency_record_expires", "idempotency_record", ["expires_at"])


def downgrade() -> None:
    op.drop_table("complaint")
    op.drop_table("webhook_delivery")
    op.drop_table("webhook_policy")
    op.drop_table("webhook_endpoint")
    op.drop_table("idempotency_record")
