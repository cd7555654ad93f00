"""analysis: how far each organization's quiet stories have given back their band keys

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 18:40:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"


def upgrade() -> None:
    # Null: no story has released its keys yet; the first pass starts from the oldest story.
    op.add_column(
        "organization",
        sa.Column("story_bands_released_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("organization", "story_bands_released_until")
