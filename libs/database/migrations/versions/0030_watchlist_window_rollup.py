"""analysis: each watchlist's mentions and harmful ones per quarter-hour, for tier decisions

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-06 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"


def upgrade() -> None:
    op.create_table(
        "watchlist_window_rollup",
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("watchlist_id", sa.Uuid(), nullable=False),
        sa.Column("bucket_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mentions", sa.BigInteger(), nullable=False),
        sa.Column("harmful", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["organization_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("organization_id", "watchlist_id", "bucket_at"),
    )
    # Once, what the live count adds for every analysis stored so far (grouped as
    # `libs.database.rollups` groups them: quarter-hours from a Monday midnight UTC, each
    # watchlist the analysis matched; harmful is negative or carrying a sensitive term).
    op.execute(
        """
        INSERT INTO watchlist_window_rollup
            (organization_id, watchlist_id, bucket_at, mentions, harmful)
        SELECT m.organization_id, w.watchlist_id,
               date_bin(INTERVAL '15 minutes', m.posted_at,
                        TIMESTAMPTZ '2000-01-03 00:00:00+00'),
               count(*),
               count(*) FILTER (WHERE a.sentiment = 'negative' OR a.sensitive_score > 0)
        FROM mention m
        JOIN mention_analysis a ON a.mention_id = m.id
        CROSS JOIN LATERAL (SELECT DISTINCT unnest(a.watchlist_ids) AS watchlist_id) w
        GROUP BY 1, 2, 3
        """
    )


def downgrade() -> None:
    op.drop_table("watchlist_window_rollup")
