"""incidents: partners with their standing per incident, and evidence bundles

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 14:00:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, strings, text, uuid

revision: str = "0016"
down_revision: str | None = "0015"


def upgrade() -> None:
    ddl.create_owned_table(
        "partner",
        text("name", 200),
        text("kind", 16),
        text("contact", 500, nullable=True),
        text("note", 2000, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        at("created_at"),
        at("updated_at"),
        sa.UniqueConstraint("organization_id", "name"),
    )
    ddl.create_owned_table(
        "incident_partner",
        uuid("incident_id", child_of="incident"),
        uuid("partner_id", child_of="partner"),
        text("status", 16),
        text("note", 2000, nullable=True),
        at("informed_at", nullable=True),
        at("aligned_at", nullable=True),
        text("updated_by", 200),
        at("updated_at"),
        sa.UniqueConstraint("incident_id", "partner_id"),
        indexed=["partner_id"],
    )
    ddl.create_owned_table(
        "evidence_bundle",
        uuid("incident_id", child_of="incident"),
        text("title", 200),
        text("purpose", 16),
        strings("debunk_facts"),
        text("created_by", 200),
        at("created_at"),
        at("updated_at"),
        indexed=["incident_id"],
    )
    ddl.create_owned_table(
        "evidence_item",
        uuid("bundle_id", child_of="evidence_bundle"),
        uuid("mention_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        text("source", 16),
        text("url", 2000, nullable=True),
        sa.Column("text", sa.String(), nullable=False),
        at("posted_at"),
        text("author_handle", 200, nullable=True),
        text("screenshot_sha256", 64, nullable=True),
        text("note", 1000, nullable=True),
        text("added_by", 200),
        at("added_at"),
        sa.UniqueConstraint("bundle_id", "mention_id"),
    )


def downgrade() -> None:
    op.drop_table("evidence_item")
    op.drop_table("evidence_bundle")
    op.drop_table("incident_partner")
    op.drop_table("partner")
