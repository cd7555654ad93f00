"""analysis, incidents, ingest: drills, the drill mark on incidents, a drill's mentions

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06 16:30:00
"""

import sqlalchemy as sa
from alembic import op

from libs.database import ddl
from libs.database.ddl import at, jsonb, text, uuid

revision: str = "0024"
down_revision: str | None = "0023"


def _flag(name: str) -> sa.Column[bool]:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default=sa.false())


def upgrade() -> None:
    ddl.create_owned_table(
        "drill",
        uuid("watchlist_id", child_of="watchlist"),
        text("scenario", 16),
        sa.Column("replay_incident_id", sa.Uuid(), nullable=True),
        sa.Column("speed", sa.Float(), nullable=False),
        text("delivery", 8),
        text("state", 8),
        text("started_by", 200),
        at("started_at"),
        at("ended_at", nullable=True),
        jsonb("score_card"),
        sa.UniqueConstraint("watchlist_id"),
    )
    ddl.add_columns("incident", _flag("drill"))
    ddl.add_columns("mention", sa.Column("drill_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    ddl.drop_columns("mention", "drill_id")
    ddl.drop_columns("incident", "drill")
    op.drop_table("drill")
