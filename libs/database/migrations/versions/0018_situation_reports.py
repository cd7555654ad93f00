"""incidents: periodic situation reports of open incidents

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 15:00:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0018"
down_revision: str | None = "0017"


def upgrade() -> None:
    ddl.create_owned_table(
        "situation_report",
        uuid("incident_id", child_of="incident"),
        sa.Column("number", sa.Integer(), nullable=False),
        text("status", 8),
        at("covers_from"),
        at("covers_until"),
        jsonb("tactical"),
        jsonb("executive"),
        at("created_at"),
        at("sent_at", nullable=True),
        text("sent_by", 200, nullable=True),
        sa.UniqueConstraint("incident_id", "number"),
    )


def downgrade() -> None:
    op.drop_table("situation_report")
