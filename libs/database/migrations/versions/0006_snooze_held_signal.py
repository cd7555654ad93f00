"""incidents: a snooze keeps the crisis signal it held back, for when the silence ends

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 07:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "watchlist_snooze",
        sa.Column("held_signal", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    op.create_index(
        "ix_watchlist_snooze_held",
        "watchlist_snooze",
        ["until"],
        unique=False,
        postgresql_where=sa.text("held_signal IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_watchlist_snooze_held",
        table_name="watchlist_snooze",
        postgresql_where=sa.text("held_signal IS NOT NULL"),
    )
    op.drop_column("watchlist_snooze", "held_signal")
