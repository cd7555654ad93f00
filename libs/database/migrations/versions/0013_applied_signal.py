"""incidents: one durable mark per risk signal it applied, and how

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 13:00:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text, uuid

revision: str = "0013"
down_revision: str | None = "0012"


def upgrade() -> None:
    ddl.create_table(
        "applied_signal",
        uuid("signal_id", child_of="risk_signal"),
        uuid("organization_id", child_of="organization"),
        text("outcome", 16),
        uuid("incident_id", nullable=True, refers_to="incident"),
        at("applied_at"),
        sa.PrimaryKeyConstraint("signal_id"),
        indexed=["organization_id"],
    )


def downgrade() -> None:
    op.drop_table("applied_signal")
