"""incidents: a snooze keeps the crisis it held back; the daily risk check, one per org and day

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 07:10:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"


def upgrade() -> None:
    op.add_column(
        "watchlist_snooze",
        sa.Column("held_signal", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )
    # The snooze-end sweep reads only the snoozes that hold something back.
    op.create_index(
        "ix_watchlist_snooze_held",
        "watchlist_snooze",
        ["until"],
        unique=False,
        postgresql_where=sa.text("held_signal IS NOT NULL"),
    )
    op.create_table(
        "risk_check",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("time_zone", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("report", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        # One check per organization and local day: a second runner stores nothing.
        sa.UniqueConstraint("organization_id", "day"),
    )
    op.create_index(
        op.f("ix_risk_check_organization_id"), "risk_check", ["organization_id"], unique=False
    )


def downgrade() -> None:
    op.drop_table("risk_check")
    op.drop_index("ix_watchlist_snooze_held", table_name="watchlist_snooze")
    op.drop_column("watchlist_snooze", "held_signal")
