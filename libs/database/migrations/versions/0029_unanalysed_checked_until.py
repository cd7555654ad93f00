"""ingest: how far each organization's mentions are known analysed or tried

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-06 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"


def upgrade() -> None:
    op.add_column(
        "organization",
        sa.Column("unanalysed_checked_until", sa.DateTime(timezone=True), nullable=True),
    )
    # Once, the whole read the reconciler used to make on every pass: each organization is
    # checked up to its oldest mention neither analysed nor tried, or up to now.
    op.execute(
        """
        UPDATE organization o SET unanalysed_checked_until = coalesce(
            (SELECT min(m.ingested_at) FROM mention m
             WHERE m.organization_id = o.id
               AND NOT EXISTS (SELECT 1 FROM mention_analysis a WHERE a.mention_id = m.id)
               AND NOT EXISTS (SELECT 1 FROM mention_failure f WHERE f.mention_id = m.id)),
            now())
        """
    )


def downgrade() -> None:
    op.drop_column("organization", "unanalysed_checked_until")
