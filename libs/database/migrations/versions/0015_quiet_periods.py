"""incidents: the organization's own accounts, and the quiet periods that pause them

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 13:30:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0015"
down_revision: str | None = "0014"


def upgrade() -> None:
    ddl.create_owned_table(
        "own_account",
        text("platform", 16),
        text("handle", 100),
        text("owner", 200, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        at("created_at"),
        at("updated_at"),
        sa.UniqueConstraint("organization_id", "platform", "handle"),
    )
    ddl.create_owned_table(
        "quiet_period",
        uuid("incident_id", child_of="incident"),
        text("tier", 8),
        at("started_at"),
        at("ended_at", nullable=True),
        text("ended_status", 16, nullable=True),
        jsonb("accounts"),
        indexed=["incident_id"],
    )
    op.create_index(
        "uq_quiet_period_running",
        "quiet_period",
        ["incident_id"],
        unique=True,
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("quiet_period")
    op.drop_table("own_account")
