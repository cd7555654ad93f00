"""ingest and analysis: a mention that failed analysis or went unanalysed, until it is done

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text, uuid

revision: str = "0007"
down_revision: str | None = "0006"


def upgrade() -> None:
    ddl.create_table(
        "mention_failure",
        uuid("mention_id", child_of="mention"),
        uuid("organization_id", child_of="organization"),
        sa.Column("tries", sa.Integer(), nullable=False),
        text("reason", 1000),
        at("first_failed_at"),
        at("last_failed_at"),
        at("given_up_at", nullable=True),
        sa.PrimaryKeyConstraint("mention_id"),
        indexed=["organization_id"],
    )


def downgrade() -> None:
    op.drop_table("mention_failure")
