"""tenancy: each organization's own keys, sealed under the data key

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 09:00:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, text

revision: str = "0009"
down_revision: str | None = "0008"


def upgrade() -> None:
    ddl.create_owned_table(
        "organization_key",
        text("purpose", 32),
        sa.Column("key_cipher", sa.LargeBinary(), nullable=False),
        at("created_at"),
        sa.UniqueConstraint("organization_id", "purpose"),
    )


def downgrade() -> None:
    op.drop_table("organization_key")
