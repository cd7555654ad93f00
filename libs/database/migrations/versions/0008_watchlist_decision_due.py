"""analysis: a watchlist's decision waits while a backfill of its history settles

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 15:00:00
"""

from alembic import op

from libs.database.ddl import at

revision: str = "0008"
down_revision: str | None = "0007"


def upgrade() -> None:
    op.add_column("watchlist", at("decision_due_at", nullable=True))


def downgrade() -> None:
    op.drop_column("watchlist", "decision_due_at")
