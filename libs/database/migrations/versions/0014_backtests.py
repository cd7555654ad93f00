"""analysis: backtests a console requests and an analysis worker runs

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 13:00:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0014"
down_revision: str | None = "0013"


def upgrade() -> None:
    ddl.create_owned_table(
        "backtest",
        uuid("watchlist_id", child_of="watchlist"),
        text("query", 10_000),
        at("since"),
        at("until"),
        text("status", 16),
        text("requested_by", 200),
        at("requested_at"),
        at("finished_at", nullable=True),
        sa.Column("mentions_read", sa.Integer(), nullable=False),
        sa.Column("mentions_matched", sa.Integer(), nullable=False),
        jsonb("result"),
        text("error", 1000, nullable=True),
        indexed=["watchlist_id"],
    )


def downgrade() -> None:
    op.drop_table("backtest")
