"""incidents: organizations' own statement templates, one row per version

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 14:30:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text

revision: str = "0017"
down_revision: str | None = "0016"


def upgrade() -> None:
    ddl.create_owned_table(
        "statement_template",
        text("stage", 16),
        text("channel", 16),
        text("crisis_type", 32),
        sa.Column("version", sa.Integer(), nullable=False),
        text("body", 5000),
        text("created_by", 200),
        at("created_at"),
        sa.UniqueConstraint("organization_id", "stage", "channel", "crisis_type", "version"),
    )


def downgrade() -> None:
    op.drop_table("statement_template")
